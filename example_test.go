package braid_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/braidrpc/braid"
)

// Run the federation inside your program and use it through go-ethereum's
// ethclient, unchanged. The keys come from the environment (${…}); braid
// never logs them.
func Example() {
	cfg, err := braid.ParseConfig([]byte(`
networks:
  - name: mainnet
    chain_id: 1
    quorum: {k: 2}               # reads need two operators to agree
    upstreams:
      - {name: infura,  operator: infura,  url: "https://mainnet.infura.io/v3/${INFURA_KEY}"}
      - {name: alchemy, operator: alchemy, url: "https://eth-mainnet.g.alchemy.com/v2/${ALCHEMY_KEY}"}
      - {name: own,     operator: us,      url: "http://10.0.0.5:8545"}
`), "embedded config")
	if err != nil {
		log.Fatal(err)
	}
	b, err := braid.New(cfg, braid.WithStartWait(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	ec := ethclient.NewClient(b.Client()) // in-process: no gateway hop
	n, err := ec.BlockNumber(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("served tip:", n)

	// The same federation can also answer other programs, beside your own
	// routes (JSON-RPC at /braid/, WebSocket too, plus healthz and metrics).
	mux := http.NewServeMux()
	mux.Handle("/braid/", http.StripPrefix("/braid", b.Handler()))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}

// A Go program that talks to several braid replicas fails over between
// them with DialFailover: the call that finds a replica down goes to the
// next one.
func ExampleDialFailover() {
	c, err := braid.DialFailover(context.Background(),
		[]string{"http://braid-1:8545", "http://braid-2:8545", "http://braid-3:8545"},
		braid.FailoverOptions{Cooldown: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	id, err := ethclient.NewClient(c).ChainID(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("chain", id)
}
