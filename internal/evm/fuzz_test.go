package evm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"os"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"

	"github.com/braidrpc/braid/internal/verify"
)

var update = flag.Bool("update", false, "record testdata/fixture.json from the devnet")

const fixturePath = "testdata/fixture.json"

// fixture is a few calls recorded from the devnet with every answer the
// executor's Source needed for them, so the proof-backed reader can be
// fuzzed without a chain.
type fixture struct {
	Hash    common.Hash                `json:"hash"`
	Header  *types.Header              `json:"header"`
	Calls   []fixtureCall              `json:"calls"`
	Answers map[string]json.RawMessage `json:"answers"`
}

type fixtureCall struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
}

// devChain is the devnet's chain configuration without a devnet.
func devChain() *params.ChainConfig {
	c := *params.AllDevChainProtocolChanges
	return &c
}

// TestRecordFixture records the fixture (only with -update).
func TestRecordFixture(t *testing.T) {
	if !*update {
		t.Skip("run with -update to record " + fixturePath + " from the devnet")
	}
	e := testEnv(t)
	head := e.head(t)
	fx := fixture{Hash: head.Hash(), Header: head, Answers: map[string]json.RawMessage{}}
	src := newDevSource(e.d.Providers()[0])
	var mu sync.Mutex
	src.record = func(c rpcCall, r json.RawMessage) {
		mu.Lock()
		fx.Answers[c.key()] = r
		mu.Unlock()
	}
	at := map[string]any{"blockHash": head.Hash()}
	multi := map[string]any{"from": e.user, "to": e.multicall, "data": e.multicallOf(t, e.user, e.tokens[:3])}
	blockHash := map[string]any{"to": e.multicall, "data": pack(t, e.multiABI, "getBlockHash", new(big.Int).Sub(head.Number, big.NewInt(4)))}
	calls := []struct {
		method string
		params []any
	}{{MethodCall, []any{multi, at}}, {MethodEstimateGas, []any{multi, at}}, {MethodCreateAccessList, []any{multi, at}}, {MethodCall, []any{blockHash, at}}}
	for _, c := range calls {
		raw, _ := json.Marshal(c.params)
		req, err := ParseRequest(c.method, raw)
		if err != nil {
			t.Fatal(err)
		}
		res, err := freshExecutor(t, e).Do(t.Context(), src, head, req)
		if err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
		if want := e.node(t, c.method, c.params...); string(want.Result) != string(res.Value) {
			t.Fatalf("%s: local %s, node %s", c.method, res.Value, want)
		}
		fx.Calls = append(fx.Calls, fixtureCall{c.method, raw, res.Value})
	}
	out, err := json.MarshalIndent(fx, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fixturePath, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func loadFixture(t testing.TB) *fixture {
	t.Helper()
	raw, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	var fx fixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if fx.Header.Hash() != fx.Hash {
		t.Fatalf("fixture header hashes to %s, recorded %s", fx.Header.Hash(), fx.Hash)
	}
	for i, c := range fx.Calls { // results as a node encodes them, not indented
		var b bytes.Buffer
		if err := json.Compact(&b, c.Result); err != nil {
			t.Fatal(err)
		}
		fx.Calls[i].Result = b.Bytes()
	}
	return &fx
}

// fixtureSource answers from a fixture, checking every answer as the
// trust stage does, after overwriting part of one answer (the target-th
// the executor asks for) with patch.
type fixtureSource struct {
	fx     *fixture
	target int
	pos    int
	patch  []byte

	mu      sync.Mutex
	n       int
	mutated bool
}

func (s *fixtureSource) answer(c rpcCall) (json.RawMessage, error) {
	raw, ok := s.fx.Answers[c.key()]
	if !ok {
		return nil, fmt.Errorf("%s not recorded", c.method)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.n
	s.n++
	if n != s.target || len(s.patch) == 0 {
		return raw, nil
	}
	out := bytes.Clone(raw)
	pos := s.pos % (len(out) + 1)
	for i, b := range s.patch {
		if pos+i < len(out) {
			out[pos+i] = b
		} else {
			out = append(out, b)
		}
	}
	s.mutated = !bytes.Equal(out, raw)
	return out, nil
}

func (s *fixtureSource) Proofs(_ context.Context, block *types.Header, qs []Query) ([]Proven, error) {
	out := make([]Proven, len(qs))
	for i, q := range qs {
		raw, err := s.answer(proofCall(block, q))
		if err != nil {
			return nil, err
		}
		if out[i].Account, err = verify.VerifyProof(block.Root, q.Address, q.Slots, raw); err != nil {
			return nil, err
		}
		if !q.Code {
			continue
		}
		raw, err = s.answer(codeCall(block, q.Address))
		if err != nil {
			return nil, err
		}
		if out[i].Code, err = checkCode(out[i].Account, rpcAnswer{Result: raw}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *fixtureSource) Code(_ context.Context, block *types.Header, a common.Address, h common.Hash) ([]byte, error) {
	raw, err := s.answer(codeCall(block, a))
	if err != nil {
		return nil, err
	}
	return checkCode(&verify.Account{Address: a, CodeHash: h}, rpcAnswer{Result: raw})
}

func (s *fixtureSource) AccessList(_ context.Context, block *types.Header, args *TransactionArgs, o StateOverride) (types.AccessList, error) {
	raw, err := s.answer(accessListCall(block, args, o))
	if err != nil {
		return nil, err
	}
	var res struct {
		AccessList types.AccessList `json:"accessList"`
	}
	err = json.Unmarshal(raw, &res)
	return res.AccessList, err
}

func (s *fixtureSource) BlockHashes(context.Context, *types.Header, []uint64) ([]common.Hash, error) {
	return nil, errors.New("not recorded")
}

// FuzzProvenReader: whatever part of whichever answer is overwritten, the
// executor either gives the recorded (node's) answer or fails the call
// with a *StateError; it never panics and never accepts a mutation that
// changes the answer.
func FuzzProvenReader(f *testing.F) {
	fx := loadFixture(f)
	f.Add(uint8(0), uint8(0), uint32(0), []byte{})
	f.Add(uint8(0), uint8(1), uint32(120), []byte("0"))
	f.Add(uint8(1), uint8(2), uint32(300), []byte{'f', 'f'})
	f.Add(uint8(2), uint8(3), uint32(40), []byte(`"`))
	f.Add(uint8(3), uint8(1), uint32(900), []byte("00"))
	f.Add(uint8(0), uint8(4), uint32(10), []byte(`"balance":"0x1",`))
	f.Fuzz(func(t *testing.T, which, target uint8, pos uint32, patch []byte) {
		c := fx.Calls[int(which)%len(fx.Calls)]
		src := &fixtureSource{fx: fx, target: int(target % 32), pos: int(pos % (1 << 16)), patch: patch}
		x, err := New(Config{Chain: devChain()})
		if err != nil {
			t.Fatal(err)
		}
		req, err := ParseRequest(c.Method, c.Params)
		if err != nil {
			t.Fatal(err)
		}
		res, err := x.Do(context.Background(), src, fx.Header, req)
		var se *StateError
		switch {
		case err == nil && !bytes.Equal(res.Value, c.Result):
			t.Fatalf("%s answered %s after a mutation, recorded answer %s", c.Method, res.Value, c.Result)
		case err != nil && !errors.As(err, &se):
			t.Fatalf("%s: %v, want the recorded answer or a *StateError", c.Method, err)
		case err != nil && !src.mutated:
			t.Fatalf("%s failed on the recorded answers: %v", c.Method, err)
		}
	})
}
