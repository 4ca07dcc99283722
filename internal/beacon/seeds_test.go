package beacon

import (
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ctypes "github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/beaconsim"
	"github.com/braidrpc/braid/internal/clock"
)

// seedCheckpoint is the simulator anchor the bootstrap seed belongs to.
var seedCheckpoint = common.HexToHash(strings.TrimSpace(mustRead("testdata/fuzz-checkpoint.txt")))

func mustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}

// TestWriteFuzzSeeds regenerates testdata/fuzz from the simulator when
// BRAID_WRITE_FUZZ_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("BRAID_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set BRAID_WRITE_FUZZ_SEEDS=1 to regenerate the seeds")
	}
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	sim, err := beaconsim.New(beaconsim.Config{Clock: clk, StartSlot: 8192 - 96})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.NewAPI())
	defer srv.Close()
	parent := common.Hash{}
	for n := range 100 {
		h := &ctypes.Header{ParentHash: parent, Number: big.NewInt(int64(n + 1)), GasLimit: 30_000_000, BaseFee: big.NewInt(7)}
		if _, err := sim.AddBlock(h); err != nil {
			t.Fatal(err)
		}
		parent = h.Hash()
		clk.Advance(sim.SlotDuration())
	}
	cp, _ := sim.Checkpoint()
	get := func(path string) []byte {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	opt := get("/eth/v1/beacon/light_client/optimistic_update")
	fin := get("/eth/v1/beacon/light_client/finality_update")
	seeds := map[string][]byte{
		"FuzzDecodeOptimistic": opt,
		"FuzzDecodeFinality":   fin,
		"FuzzDecodeBootstrap":  get("/eth/v1/beacon/light_client/bootstrap/" + cp.Hex()),
		"FuzzDecodeUpdates":    get("/eth/v1/beacon/light_client/updates?start_period=0&count=1"),
		"FuzzDecodeHeader":     get("/eth/v1/beacon/headers/head"),
		"FuzzSSE":              []byte("event: light_client_optimistic_update\ndata: " + strings.TrimSpace(string(opt)) + "\n\n: keep-alive\n\nevent: light_client_finality_update\ndata: " + strings.TrimSpace(string(fin)) + "\n\n"),
	}
	for name, data := range seeds {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
		if err := os.WriteFile(filepath.Join(dir, "simulator"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile("testdata/fuzz-checkpoint.txt", []byte(cp.Hex()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFuzzSeedsDecode keeps the seeds meaningful: each decodes and proves.
func TestFuzzSeedsDecode(t *testing.T) {
	s := fuzzSpec(t)
	seed := func(name string) []byte {
		t.Helper()
		raw := mustRead(filepath.Join("testdata", "fuzz", name, "simulator"))
		_, lit, ok := strings.Cut(strings.TrimSpace(raw), "[]byte(")
		if !ok {
			t.Fatalf("seed %s missing", name)
		}
		str, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
		if err != nil {
			t.Fatal(err)
		}
		return []byte(str)
	}
	opt, err := s.decodeOptimistic(seed("FuzzDecodeOptimistic"))
	if err != nil || opt.Validate(s.chain) != nil {
		t.Fatalf("optimistic seed: %v", err)
	}
	if n, ok := blockNumber(opt.Attested.Proof); !ok || n != 100 {
		t.Fatalf("optimistic seed names block %d", n)
	}
	fin, err := s.decodeFinality(seed("FuzzDecodeFinality"))
	if err != nil || fin.Validate(s.chain) != nil {
		t.Fatalf("finality seed: %v", err)
	}
	if _, err := s.decodeBootstrap(seed("FuzzDecodeBootstrap"), seedCheckpoint); err != nil {
		t.Fatalf("bootstrap seed: %v", err)
	}
	if _, _, err := s.decodeUpdates(seed("FuzzDecodeUpdates"), 0, 1); err != nil {
		t.Fatalf("updates seed: %v", err)
	}
	if _, _, _, err := decodeHeader(seed("FuzzDecodeHeader"), common.Hash{}); err != nil {
		t.Fatalf("header seed: %v", err)
	}
}
