package integration

import (
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
)

func ethereumFilter(addr common.Address, to *big.Int) ethereum.FilterQuery {
	return ethereum.FilterQuery{FromBlock: big.NewInt(0), ToBlock: to, Addresses: []common.Address{addr}}
}
