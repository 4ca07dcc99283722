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
// network's chain id: mainnet, Sepolia, Holešky, Hoodi. Another chain (a
// devnet: chain ids like 1337 mean different forks to different tools)
// passes its own configuration to New (ParseChainConfig). The
// configuration returned is shared: do not change it.
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
	return nil, fmt.Errorf("evm: no chain configuration for chain id %d (known: mainnet %d, Sepolia %d, Holešky %d, Hoodi %d; set verify.evm.chain_config)",
		chainID, MainnetChainID, SepoliaChainID, HoleskyChainID, HoodiChainID)
}

// ParseChainConfig reads a go-ethereum chain configuration: a genesis
// file (its "config" object) or the configuration object alone. It must
// name chainID.
func ParseChainConfig(data []byte, chainID uint64) (*params.ChainConfig, error) {
	var genesis struct {
		Config json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(data, &genesis); err != nil {
		return nil, fmt.Errorf("evm: chain configuration: %w", err)
	}
	if len(genesis.Config) > 0 {
		data = genesis.Config
	}
	c := new(params.ChainConfig)
	if err := json.Unmarshal(data, c); err != nil {
		return nil, fmt.Errorf("evm: chain configuration: %w", err)
	}
	if c.ChainID == nil || !c.ChainID.IsUint64() || c.ChainID.Uint64() != chainID {
		return nil, fmt.Errorf("evm: chain configuration is for chain id %v, not %d", c.ChainID, chainID)
	}
	return c, nil
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
