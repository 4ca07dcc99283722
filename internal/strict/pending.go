package strict

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/jsonrpc"
	"github.com/braidrpc/braid/internal/plan"
)

// This file bounds, in strict mode, the part of the pending nonce no
// proof covers: the operators' count of an account's pooled transactions.

// pendingSlack is the most pooled transactions of one account braid
// believes an operator's pending nonce counts above the proven latest
// nonce: go-ethereum's default per-account pool limits, AccountSlots (16)
// + AccountQueue (64). A higher count is no pool a wallet can have filled
// through a default node; an operator claiming one (a k = 1 network has
// nobody to outvote it) is not believed, and the next one is asked.
const pendingSlack = 16 + 64

// pendingAsks is how many distinct operators one pending nonce asks at
// least (more when the network's quorum needs more). Their pools differ
// for a while after a wallet sends (its transaction reaches some nodes
// first), so braid does not ask for one agreed count, which two nodes
// that have not seen the transaction yet would agree on without it.
const pendingAsks = 3

// pendingNonce answers eth_getTransactionCount(addr, "pending") under the
// network's quorum k: the highest count that k of the operators asked
// reach (each operator's count of the account's transactions, pooled
// ones included, vouches for every count up to it), never below the
// account's nonce proven at the trusted tip, and raised past the
// transactions of the account braid itself relayed and an operator
// accepted (relayed.go): braid saw them signed. Counts more than
// pendingSlack above the proven nonce are not believed.
//
// So no single operator decides the answer when k > 1: one inventing
// pooled transactions cannot push a wallet's next transaction behind a
// gap, where it would wait unseen, and one that has not seen the wallet's
// last transaction cannot pull the count back while others have it. A
// wallet sending through braid gets its next nonce at once, whatever the
// pools have seen; one sending elsewhere gets it once k operators' pools
// have the transaction (seconds, as it propagates).
func (c *call) pendingNonce(ctx context.Context, pl *plan.Plan) (*jsonrpc.Response, error) {
	var addr common.Address
	if err := json.Unmarshal(pl.Args[0], &addr); err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid argument 0: %v", err)
	}
	latest := *pl
	latest.Args = []json.RawMessage{pl.Args[0], json.RawMessage(`"latest"`)}
	provenResp, err := c.s.o.Verified.Read(ctx, &latest)
	if err != nil || provenResp.Error != nil {
		return provenResp, err
	}
	var proven hexutil.Big
	if err := json.Unmarshal(provenResp.Result, &proven); err != nil {
		return nil, err
	}
	answer := proven.ToInt()
	pending, why := c.s.pendingCount(ctx, pl, answer)
	switch {
	case pending == nil:
		c.partial(why + ": the nonce proven at the trusted latest block")
	case pending.Cmp(answer) < 0:
		c.partial("the operators' pending count was below the proven latest nonce: the proven nonce")
	default:
		answer = pending
		c.partial(fmt.Sprintf("the pending nonce is the operators' count (the highest %d of those asked reach), at least the nonce proven at the trusted latest block", max(pl.Quorum.K, 1)))
	}
	if answer.IsUint64() && proven.ToInt().IsUint64() {
		if n := c.s.relayed.next(addr, answer.Uint64(), proven.ToInt().Uint64()); n > answer.Uint64() {
			answer = new(big.Int).SetUint64(n)
			c.partial("raised past transactions of the account braid relayed and an operator accepted")
		}
	}
	out, _ := json.Marshal((*hexutil.Big)(new(big.Int).Set(answer)))
	return &jsonrpc.Response{Result: out}, nil
}

// Relayed tells the stage of a raw transaction it broadcast that an
// operator accepted (route.Write.Accepted): it counts in its sender's
// pending nonce.
func (s *Stage) Relayed(tx *types.Transaction) { s.relayed.add(tx) }

// pendingAtTip is pl with a "pending" block parameter replaced by
// "latest": a state read at "pending" is answered, proven, at the trusted
// tip (wallets ask eth_getCode at "pending" before they estimate), and
// says so. pl itself when it does not name "pending".
func (c *call) pendingAtTip(pl *plan.Plan) *plan.Plan {
	i := pl.Spec.BlockParam
	if i < 0 || i >= len(pl.Args) || !IsPending(pl.Args[i]) {
		return pl
	}
	cp := *pl
	cp.Args = slices.Clone(pl.Args)
	cp.Args[i] = json.RawMessage(`"latest"`)
	c.partial(`"pending" was read at the trusted latest block, without the operators' pending transactions`)
	return &cp
}

// pendingCount is the highest pending count for pl within
// [floor, floor+pendingSlack] that K (pl's quorum) of the operators asked
// reach — max(pendingAsks, K) distinct ones — or nil with why there is
// none. Answers above the bound are set aside.
func (s *Stage) pendingCount(ctx context.Context, pl *plan.Plan, floor *big.Int) (*big.Int, string) {
	ceiling := new(big.Int).Add(floor, big.NewInt(pendingSlack))
	k := max(pl.Quorum.K, 1)
	why := "no operator's pending count"
	var (
		counts  []*big.Int
		exclude []string
	)
	for range max(pendingAsks, k) {
		resp, op, err := s.o.Operators.AskOne(ctx, pl, slices.Clip(exclude))
		if err != nil || resp == nil || op == "" {
			break // nobody (else) to ask
		}
		exclude = append(exclude, op)
		var count hexutil.Big
		if resp.Error != nil || json.Unmarshal(resp.Result, &count) != nil {
			continue
		}
		c := count.ToInt()
		if c.Cmp(ceiling) > 0 {
			why = fmt.Sprintf("the operators' pending count was more than %d above the proven latest nonce", pendingSlack)
			continue
		}
		counts = append(counts, c)
	}
	if len(counts) < k {
		if len(counts) > 0 {
			why = fmt.Sprintf("only %d of the %d operators needed gave a believable pending count", len(counts), k)
		}
		return nil, why
	}
	slices.SortFunc(counts, func(a, b *big.Int) int { return b.Cmp(a) })
	return counts[k-1], ""
}
