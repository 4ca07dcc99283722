package devnet

//go:generate sh contracts/build.sh

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
)

// Token.bin and Token.abi are solc's output for contracts/Token.sol; run
// `go generate ./internal/devnet` to rebuild them.
var (
	//go:embed contracts/Token.bin
	tokenBin string
	//go:embed contracts/Token.abi
	tokenABI string
)

// Token parameters. The whole supply is minted to the stream account; New
// transfers UserTokens of it to the user account.
const (
	TokenName   = "Braid Demo Token"
	TokenSymbol = "BRAID"
)

var (
	tokenUnit   = big.NewInt(params.Ether) // 18 decimals
	tokenSupply = new(big.Int).Mul(big.NewInt(1_000_000_000), tokenUnit)
	// UserTokens is the token balance the user account starts with.
	UserTokens = new(big.Int).Mul(big.NewInt(1_000_000), tokenUnit)
)

// token is the compiled contract and, once deployed, its address.
type token struct {
	abi     abi.ABI
	code    []byte
	address common.Address
}

func loadToken() (*token, error) {
	a, err := abi.JSON(strings.NewReader(tokenABI))
	if err != nil {
		return nil, fmt.Errorf("devnet: token ABI: %w", err)
	}
	code := common.FromHex(strings.TrimSpace(tokenBin))
	if len(code) == 0 {
		return nil, fmt.Errorf("devnet: token bytecode is empty")
	}
	return &token{abi: a, code: code}, nil
}

// TokenABI is the token's ABI, to encode calls and decode answers and logs.
func TokenABI() abi.ABI {
	t, err := loadToken()
	if err != nil {
		panic(err) // the embedded ABI is checked by the package's tests
	}
	return t.abi
}

// pack encodes a call of the token's method.
func (t *token) pack(method string, args ...any) []byte {
	data, err := t.abi.Pack(method, args...)
	if err != nil {
		panic(fmt.Sprintf("devnet: pack %s: %v", method, err)) // static arguments
	}
	return data
}

// setup deploys the token from the stream account, commits, transfers
// UserTokens to the user account and commits again.
func (d *Devnet) setup(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	from := crypto.PubkeyToAddress(d.stream.PublicKey)
	nonce, err := d.eth.PendingNonceAt(ctx, from)
	if err != nil {
		return fmt.Errorf("devnet: stream nonce: %w", err)
	}
	d.streamNonce = nonce

	args, err := d.token.abi.Pack("", TokenName, TokenSymbol, tokenSupply)
	if err != nil {
		return fmt.Errorf("devnet: token constructor: %w", err)
	}
	deploy, err := d.send(ctx, nil, nil, append(bytes.Clone(d.token.code), args...))
	if err != nil {
		return fmt.Errorf("devnet: deploy token: %w", err)
	}
	d.backend.Commit()
	rcpt, err := d.eth.TransactionReceipt(ctx, deploy.Hash())
	if err != nil {
		return fmt.Errorf("devnet: token deployment receipt: %w", err)
	}
	if rcpt.Status != types.ReceiptStatusSuccessful {
		return fmt.Errorf("devnet: token deployment failed (tx %s)", deploy.Hash())
	}
	d.token.address = rcpt.ContractAddress

	user := crypto.PubkeyToAddress(d.user.PublicKey)
	fund, err := d.send(ctx, &d.token.address, nil, d.token.pack("transfer", user, UserTokens))
	if err != nil {
		return fmt.Errorf("devnet: fund user with tokens: %w", err)
	}
	d.backend.Commit()
	rcpt, err = d.eth.TransactionReceipt(ctx, fund.Hash())
	if err != nil {
		return fmt.Errorf("devnet: token funding receipt: %w", err)
	}
	if rcpt.Status != types.ReceiptStatusSuccessful {
		return fmt.Errorf("devnet: token funding failed (tx %s, gas used %d)", fund.Hash(), rcpt.GasUsed)
	}
	return nil
}
