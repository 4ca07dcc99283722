package evm

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/ethereum/go-ethereum/params"
)

// Chain ids of the public networks with a chain configuration preset.
const (
	MainnetChainID = 1
	SepoliaChainID = 11155111
	HoleskyChainID = 17000
	HoodiChainID   = 560048
)

// holeskySpec is Holešky's chain configuration. go-ethereum dropped its
// preset in v1.17 (the network was retired after Fusaka); these are the
// fork times and blob schedule go-ethereum v1.16.7 shipped for it.
//
//go:embed chainspecs/holesky.json
var holeskySpec []byte

// ChainConfig returns go-ethereum's chain configuration for a public
// network's chain id: mainnet, Sepolia, Holešky, Hoodi. A devnet passes its
// own genesis configuration to New instead. The configuration returned is
// shared: do not change it.
func ChainConfig(chainID uint64) (*params.ChainConfig, error) {
	switch chainID {
	case MainnetChainID:
		return params.MainnetChainConfig, nil
	case SepoliaChainID:
		return params.SepoliaChainConfig, nil
	case HoodiChainID:
		return params.HoodiChainConfig, nil
	case HoleskyChainID:
		return holesky, nil
	}
	return nil, fmt.Errorf("evm: no chain configuration for chain id %d (known: mainnet %d, Sepolia %d, Holešky %d, Hoodi %d)",
		chainID, MainnetChainID, SepoliaChainID, HoleskyChainID, HoodiChainID)
}

var holesky = func() *params.ChainConfig {
	dec := json.NewDecoder(bytes.NewReader(holeskySpec))
	dec.DisallowUnknownFields()
	c := new(params.ChainConfig)
	if err := dec.Decode(c); err != nil {
		panic("evm: holesky chain spec: " + err.Error()) // embedded, checked by the tests
	}
	return c
}()
