package beacon

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/beacon/params"
	"github.com/ethereum/go-ethereum/common"
)

// Network is the beacon chain a light client follows: its genesis, fork
// schedule (which decides the signing domains) and slot length.
type Network struct {
	Name                  string
	GenesisTime           uint64 // Unix seconds at which slot 0 starts
	GenesisValidatorsRoot common.Hash
	Forks                 []Fork
	// SlotDuration is 12 s on every public network. go-ethereum's committee
	// chain assumes 12 s only for its own age check, which braid turns off
	// and replaces with its own (future and stale heads, checkpoint age), so
	// a devnet may use shorter slots.
	SlotDuration time.Duration
}

// Fork is one entry of the fork schedule.
type Fork struct {
	Name    string // as in the beacon chain's config.yaml: GENESIS, ALTAIR, … FULU, GLOAS
	Epoch   uint64
	Version [4]byte
}

// DefaultSlotDuration is the slot length of the public networks.
const DefaultSlotDuration = 12 * time.Second

// Mainnet, Sepolia and Hoodi are go-ethereum v1.17.10's light-client
// configurations (beacon/params). In that release mainnet's and Hoodi's
// schedules end at FULU and only Sepolia's has GLOAS: once a network
// activates a fork its preset lacks, every signature from then on is
// checked under the wrong domain and no head is accepted. Add the fork to
// Network.Forks (name, epoch, version from the network's config.yaml) until
// braid's go-ethereum knows it; an endpoint reporting an unknown fork is
// shown in Status.
func Mainnet() Network {
	return NetworkFromChainConfig("mainnet", params.MainnetLightConfig, DefaultSlotDuration)
}

// Sepolia is the Sepolia test network; see Mainnet.
func Sepolia() Network {
	return NetworkFromChainConfig("sepolia", params.SepoliaLightConfig, DefaultSlotDuration)
}

// Hoodi is the Hoodi test network; see Mainnet.
func Hoodi() Network {
	return NetworkFromChainConfig("hoodi", params.HoodiLightConfig, DefaultSlotDuration)
}

// NetworkByName returns the preset of a public network: mainnet, sepolia or
// hoodi.
func NetworkByName(name string) (Network, error) {
	switch strings.ToLower(name) {
	case "mainnet":
		return Mainnet(), nil
	case "sepolia":
		return Sepolia(), nil
	case "hoodi":
		return Hoodi(), nil
	}
	return Network{}, fmt.Errorf("beacon: no preset for network %q (known: mainnet, sepolia, hoodi)", name)
}

// PresetCheckpoint returns the checkpoint go-ethereum ships with a
// preset (mainnet, sepolia, hoodi). It is as old as braid's go-ethereum:
// checkpoint_max_age refuses it once that is too long ago.
func PresetCheckpoint(name string) (common.Hash, bool) {
	switch strings.ToLower(name) {
	case "mainnet":
		return params.MainnetLightConfig.Checkpoint, true
	case "sepolia":
		return params.SepoliaLightConfig.Checkpoint, true
	case "hoodi":
		return params.HoodiLightConfig.Checkpoint, true
	}
	return common.Hash{}, false
}

// NetworkFromChainConfig copies a go-ethereum chain configuration (without
// its checkpoint) into a Network, e.g. the offline simulator's.
func NetworkFromChainConfig(name string, c *params.ChainConfig, slot time.Duration) Network {
	n := Network{Name: name, GenesisTime: c.GenesisTime, GenesisValidatorsRoot: c.GenesisValidatorsRoot, SlotDuration: slot}
	for _, f := range c.Forks {
		var v [4]byte
		copy(v[:], f.Version)
		n.Forks = append(n.Forks, Fork{Name: f.Name, Epoch: f.Epoch, Version: v})
	}
	return n
}

func (n Network) validate() error {
	if n.Name == "" {
		return errors.New("network has no name")
	}
	if n.SlotDuration <= 0 {
		return fmt.Errorf("network %s: slot duration must be positive", n.Name)
	}
	names := make(map[string]bool)
	genesis := false
	for _, f := range n.Forks {
		key := strings.ToLower(f.Name)
		if key == "" || names[key] {
			return fmt.Errorf("network %s: fork names must be unique and non-empty (%q)", n.Name, f.Name)
		}
		names[key] = true
		genesis = genesis || f.Epoch == 0
	}
	if !genesis {
		return fmt.Errorf("network %s: the fork schedule needs a fork at epoch 0", n.Name)
	}
	return nil
}

// chainConfig builds a fresh go-ethereum chain configuration (AddFork
// computes each fork's signing domain), never sharing go-ethereum's globals.
func (n Network) chainConfig() *params.ChainConfig {
	c := &params.ChainConfig{GenesisTime: n.GenesisTime, GenesisValidatorsRoot: n.GenesisValidatorsRoot}
	for _, f := range n.Forks {
		c.AddFork(strings.ToUpper(f.Name), f.Epoch, f.Version[:])
	}
	return c
}

// knows reports whether a beacon API version string names a fork of the
// schedule.
func (n Network) knows(version string) bool {
	for _, f := range n.Forks {
		if strings.EqualFold(f.Name, version) {
			return true
		}
	}
	return false
}

// SlotTime returns when a slot starts. Slots too far out to represent
// return the largest time.
func (n Network) SlotTime(slot uint64) time.Time {
	genesis := time.Unix(int64(min(n.GenesisTime, math.MaxInt64/2)), 0)
	limit := uint64(math.MaxInt64/2) / uint64(max(n.SlotDuration, 1))
	if slot > limit {
		return genesis.Add(math.MaxInt64 / 2)
	}
	return genesis.Add(time.Duration(slot) * n.SlotDuration)
}

// spec is a validated network with its go-ethereum chain configuration.
type spec struct {
	Network
	chain *params.ChainConfig
}

func newSpec(n Network) (*spec, error) {
	if err := n.validate(); err != nil {
		return nil, err
	}
	return &spec{Network: n, chain: n.chainConfig()}, nil
}
