package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// chainReceipts verifies every block's receipts and returns them by block
// hash, with the headers.
func chainReceipts(t *testing.T, d *chainData) (map[common.Hash][]*types.Receipt, []*types.Header) {
	t.Helper()
	all := map[common.Hash][]*types.Receipt{}
	var headers []*types.Header
	for _, b := range d.blocks {
		txs, err := VerifyBlockTxs(b.Header, b.Full)
		if err != nil {
			t.Fatal(err)
		}
		rs, _, err := VerifyReceiptsTxs(b.Header, txs, b.Receipts)
		if err != nil {
			t.Fatal(err)
		}
		all[b.Header.Hash()] = rs
		headers = append(headers, b.Header)
	}
	return all, headers
}

// chainResolve resolves every tag to the head of d.
func chainResolve(d *chainData) func(string) (uint64, error) {
	head := d.blocks[len(d.blocks)-1].Header.Number.Uint64()
	return func(tag string) (uint64, error) {
		switch tag {
		case "latest", "safe", "finalized", "pending":
			return head, nil
		case "earliest":
			return 0, nil
		}
		return 0, fmt.Errorf("unknown tag %q", tag)
	}
}

// mayMatch returns the receipts of the blocks a complete check of f needs:
// those in f's range (or f's block) whose bloom may match.
func mayMatch(f *LogFilter, all map[common.Hash][]*types.Receipt, headers []*types.Header) map[common.Hash][]*types.Receipt {
	out := map[common.Hash][]*types.Receipt{}
	for _, h := range headers {
		in := h.Number.Uint64() >= f.FromBlock && h.Number.Uint64() <= f.ToBlock
		if f.BlockHash != nil {
			in = h.Hash() == *f.BlockHash
		}
		if in && f.BloomMayMatch(h.Bloom) {
			out[h.Hash()] = all[h.Hash()]
		}
	}
	return out
}

func TestVerifyLogs(t *testing.T) {
	d := chain(t)
	all, headers := chainReceipts(t, d)
	for _, q := range d.logs {
		t.Run(q.name, func(t *testing.T) {
			f, err := ParseLogFilter(q.filter, chainResolve(d))
			if err != nil {
				t.Fatal(err)
			}
			n := len(chainList(t, q.answer))
			if empty := strings.HasPrefix(q.name, "empty"); empty != (n == 0) {
				t.Fatalf("%d logs", n)
			}
			// Complete: every block whose bloom may match is known.
			if err := VerifyLogs(f, q.answer, mayMatch(f, all, headers), true); err != nil {
				t.Fatalf("complete: %v", err)
			}
			// Not complete: only the blocks the answer names.
			blocks, err := LogBlocks(q.answer)
			if err != nil {
				t.Fatal(err)
			}
			named := map[common.Hash][]*types.Receipt{}
			for _, h := range blocks {
				named[h] = all[h]
			}
			if err := VerifyLogs(f, q.answer, named, false); err != nil {
				t.Fatalf("named blocks: %v", err)
			}
			// Every log the filter selects is one the answer has.
			for _, l := range chainList(t, q.answer) {
				var lg types.Log
				if err := json.Unmarshal(l, &lg); err != nil || !f.Matches(&lg) {
					t.Fatalf("log %s does not match: %v", l, err)
				}
			}
		})
	}
}

// TestVerifyLogsLies tampers with real eth_getLogs answers; every lie must
// be an *Error.
func TestVerifyLogsLies(t *testing.T) {
	d := chain(t)
	all, headers := chainReceipts(t, d)
	var token, topic, everything chainLogQuery
	for _, q := range d.logs {
		switch q.name {
		case "token over the range":
			token = q
		case "transfers to one recipient":
			topic = q
		case "everything":
			everything = q
		}
	}
	parse := func(raw json.RawMessage) *LogFilter {
		f, err := ParseLogFilter(raw, chainResolve(d))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	tokenF, topicF := parse(token.filter), parse(topic.filter)
	if n := len(chainList(t, token.answer)); n < 4 || n == len(chainList(t, topic.answer)) {
		t.Fatalf("token logs %d, to one recipient %d: too few to test", n, len(chainList(t, topic.answer)))
	}
	logN := func(i int, edit func(m map[string]any)) func(any) any {
		return func(v any) any { edit(chainObj(chainL(v)[i])); return v }
	}
	otherBlock := d.blocks[len(d.blocks)-1].Header.Hash().Hex()
	strangerF := parse(chainEncode(t, map[string]any{"fromBlock": "0x1", "toBlock": "latest", "address": chainStranger}))
	for _, c := range []struct {
		name     string
		f        *LogFilter
		answer   json.RawMessage
		edit     func(any) any
		complete bool
	}{
		{"forged data", tokenF, token.answer, logN(1, func(m map[string]any) { m["data"] = chainFlip(m["data"]) }), false},
		{"forged topic", tokenF, token.answer, logN(1, func(m map[string]any) { chainL(m["topics"])[2] = chainFlip(chainL(m["topics"])[2]) }), false},
		{"forged log", tokenF, token.answer, func(v any) any {
			l := chainObj(chainDecode(t, chainEncode(t, chainL(v)[0])))
			l["logIndex"] = "0x9"
			return append(chainL(v), l)
		}, false},
		{"altered address", tokenF, token.answer, logN(0, func(m map[string]any) { m["address"] = chainStranger.Hex() }), false},
		{"another address than the filter's", strangerF, token.answer, func(v any) any { return v }, false},
		{"another topic than the filter's", topicF, everything.answer, func(v any) any { return v }, false},
		{"wrong logIndex", tokenF, token.answer, logN(1, func(m map[string]any) { m["logIndex"] = chainBump(m["logIndex"], 1) }), false},
		{"no logIndex", tokenF, token.answer, logN(1, func(m map[string]any) { delete(m, "logIndex") }), false},
		{"wrong transactionHash", tokenF, token.answer, logN(1, func(m map[string]any) { m["transactionHash"] = chainFlip(m["transactionHash"]) }), false},
		{"wrong transactionIndex", tokenF, token.answer, logN(1, func(m map[string]any) { m["transactionIndex"] = chainBump(m["transactionIndex"], 1) }), false},
		{"wrong blockNumber", tokenF, token.answer, logN(1, func(m map[string]any) { m["blockNumber"] = chainBump(m["blockNumber"], 1) }), false},
		{"wrong blockHash", tokenF, token.answer, logN(0, func(m map[string]any) { m["blockHash"] = otherBlock }), false},
		{"unverified block", tokenF, token.answer, logN(0, func(m map[string]any) { m["blockHash"] = chainFlip(m["blockHash"]) }), false},
		{"wrong blockTimestamp", tokenF, token.answer, logN(1, func(m map[string]any) { m["blockTimestamp"] = chainBump(m["blockTimestamp"], 1) }), false},
		{"removed", tokenF, token.answer, logN(1, func(m map[string]any) { m["removed"] = true }), false},
		{"duplicated log", tokenF, token.answer, func(v any) any { return append(chainL(v)[:2:2], chainL(v)[1:]...) }, false},
		{"reordered logs", tokenF, token.answer, func(v any) any { l := chainL(v); l[0], l[1] = l[1], l[0]; return l }, false},
		{"address in other case", tokenF, token.answer, logN(0, func(m map[string]any) { m["Address"] = m["address"]; delete(m, "address") }), false},
		{"address twice", tokenF, token.answer, logN(0, func(m map[string]any) { m["ADDRESS"] = chainStranger.Hex() }), false},
		{"dropped first log", tokenF, token.answer, func(v any) any { return chainL(v)[1:] }, true},
		{"dropped last log", tokenF, token.answer, func(v any) any { l := chainL(v); return l[:len(l)-1] }, true},
		{"dropped topic match", topicF, topic.answer, func(v any) any { return chainL(v)[1:] }, true},
		{"empty for a full range", tokenF, token.answer, func(any) any { return []any{} }, true},
		{"an object", tokenF, token.answer, func(v any) any { return chainL(v)[0] }, false},
		{"a string", tokenF, token.answer, func(any) any { return "0x" }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			raw := chainEdit(t, c.answer, c.edit)
			receipts := all // every verified block: the lie is not a missing block
			if c.complete {
				receipts = mayMatch(c.f, all, headers)
			}
			chainWantLie(t, VerifyLogs(c.f, raw, receipts, c.complete))
			if c.complete {
				// Dropping logs is only a lie when the answer must be complete.
				if err := VerifyLogs(c.f, raw, mayMatch(c.f, all, headers), false); err != nil {
					t.Fatalf("a subset, not checked for completeness: %v", err)
				}
			}
		})
	}
}

func TestLogBlocks(t *testing.T) {
	d := chain(t)
	for _, q := range d.logs {
		hashes, err := LogBlocks(q.answer)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		seen := map[common.Hash]bool{}
		for _, l := range chainList(t, q.answer) {
			var lg types.Log
			if err := json.Unmarshal(l, &lg); err != nil {
				t.Fatal(err)
			}
			seen[lg.BlockHash] = true
		}
		if len(seen) != len(hashes) {
			t.Fatalf("%s: %d blocks, the logs name %d", q.name, len(hashes), len(seen))
		}
		for _, h := range hashes {
			if !seen[h] {
				t.Fatalf("%s: %s is named by no log", q.name, h)
			}
		}
	}
	for _, raw := range []string{`{}`, `[{"blockHash":"0x12"}]`, `[{}]`, `[1]`, `[{"blockHash":"0x` + strings.Repeat("0", 64) + `","BLOCKHASH":"x"}]`} {
		if _, err := LogBlocks(json.RawMessage(raw)); !chainIsError(err) {
			t.Errorf("%s: %v", raw, err)
		}
	}
	if hs, err := LogBlocks(json.RawMessage(`null`)); err != nil || len(hs) != 0 {
		t.Errorf("null: %v %v", hs, err)
	}
}

func TestParseLogFilter(t *testing.T) {
	a1, a2 := common.HexToAddress("0x01"), common.HexToAddress("0x02")
	t1, t2 := common.HexToHash("0x0a"), common.HexToHash("0x0b")
	bh := common.HexToHash("0xbb")
	resolve := func(tag string) (uint64, error) {
		switch tag {
		case "latest":
			return 100, nil
		case "safe":
			return 90, nil
		case "finalized":
			return 80, nil
		case "earliest":
			return 0, nil
		}
		return 0, errTag
	}
	for _, c := range []struct {
		name string
		raw  string
		want *LogFilter
		err  error
	}{
		{"empty", `{}`, &LogFilter{FromBlock: 100, ToBlock: 100}, nil},
		{"null", `null`, &LogFilter{FromBlock: 100, ToBlock: 100}, nil},
		{"numbers", `{"fromBlock":"0x10","toBlock":"0x20"}`, &LogFilter{FromBlock: 16, ToBlock: 32}, nil},
		{"tags", `{"fromBlock":"finalized","toBlock":"safe"}`, &LogFilter{FromBlock: 80, ToBlock: 90}, nil},
		{"earliest", `{"fromBlock":"earliest"}`, &LogFilter{FromBlock: 0, ToBlock: 100}, nil},
		{"backwards range", `{"fromBlock":"0x20","toBlock":"0x10"}`, &LogFilter{FromBlock: 32, ToBlock: 16}, nil},
		{"one address", `{"address":"` + a1.Hex() + `"}`, &LogFilter{Addresses: []common.Address{a1}, FromBlock: 100, ToBlock: 100}, nil},
		{"addresses", `{"address":["` + a1.Hex() + `","` + a2.Hex() + `"]}`, &LogFilter{Addresses: []common.Address{a1, a2}, FromBlock: 100, ToBlock: 100}, nil},
		{"null address", `{"address":null}`, &LogFilter{FromBlock: 100, ToBlock: 100}, nil},
		{"no addresses", `{"address":[]}`, &LogFilter{FromBlock: 100, ToBlock: 100}, nil},
		{"topics", `{"topics":["` + t1.Hex() + `",null,["` + t1.Hex() + `","` + t2.Hex() + `"],[]]}`,
			&LogFilter{Topics: [][]common.Hash{{t1}, nil, {t1, t2}, nil}, FromBlock: 100, ToBlock: 100}, nil},
		{"null alternative", `{"topics":[["` + t1.Hex() + `",null]]}`, &LogFilter{Topics: [][]common.Hash{nil}, FromBlock: 100, ToBlock: 100}, nil},
		{"block hash", `{"blockHash":"` + bh.Hex() + `","address":"` + a1.Hex() + `"}`, &LogFilter{Addresses: []common.Address{a1}, BlockHash: &bh}, nil},
		{"block hash and range", `{"blockHash":"` + bh.Hex() + `","fromBlock":"0x1"}`, nil, ErrInvalidFilter},
		{"five topics", `{"topics":[null,null,null,null,null]}`, nil, ErrInvalidFilter},
		{"short address", `{"address":"0x01"}`, nil, ErrInvalidFilter},
		{"address number", `{"address":[1]}`, nil, ErrInvalidFilter},
		{"short topic", `{"topics":["0x01"]}`, nil, ErrInvalidFilter},
		{"topic number", `{"topics":[[1]]}`, nil, ErrInvalidFilter},
		{"bad number", `{"fromBlock":"0x01"}`, nil, ErrInvalidFilter},
		{"number not a string", `{"fromBlock":1}`, nil, ErrInvalidFilter},
		{"unknown tag", `{"toBlock":"pending!"}`, nil, errTag},
		{"not an object", `[]`, nil, ErrInvalidFilter},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := ParseLogFilter(json.RawMessage(c.raw), resolve)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("error %v, want %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f, c.want) {
				t.Fatalf("%+v, want %+v", f, c.want)
			}
		})
	}
}

var errTag = errors.New("unknown tag")

func TestLogFilterMatches(t *testing.T) {
	a1, a2 := common.HexToAddress("0x01"), common.HexToAddress("0x02")
	t1, t2, t3 := common.HexToHash("0x0a"), common.HexToHash("0x0b"), common.HexToHash("0x0c")
	bh := common.HexToHash("0xbb")
	l := &types.Log{Address: a1, Topics: []common.Hash{t1, t2}, BlockNumber: 10, BlockHash: bh}
	var bloom types.Bloom
	bloom.Add(a1.Bytes())
	bloom.Add(t1.Bytes())
	bloom.Add(t2.Bytes())
	if types.BloomLookup(bloom, t3) || types.BloomLookup(bloom, a2) {
		t.Fatal("bloom collision; pick other values")
	}
	for _, c := range []struct {
		name         string
		f            LogFilter
		match, bloom bool
	}{
		{"anything in range", LogFilter{FromBlock: 10, ToBlock: 10}, true, true},
		{"before the range", LogFilter{FromBlock: 11, ToBlock: 20}, false, true},
		{"after the range", LogFilter{FromBlock: 0, ToBlock: 9}, false, true},
		{"backwards range", LogFilter{FromBlock: 11, ToBlock: 9}, false, true},
		{"its block", LogFilter{BlockHash: &bh}, true, true},
		{"another block", LogFilter{BlockHash: &common.Hash{1}}, false, true},
		{"its address", LogFilter{Addresses: []common.Address{a2, a1}, ToBlock: 99}, true, true},
		{"another address", LogFilter{Addresses: []common.Address{a2}, ToBlock: 99}, false, false},
		{"its topics", LogFilter{Topics: [][]common.Hash{{t1}, {t3, t2}}, ToBlock: 99}, true, true},
		{"wildcard first", LogFilter{Topics: [][]common.Hash{nil, {t2}}, ToBlock: 99}, true, true},
		{"another topic", LogFilter{Topics: [][]common.Hash{{t3}}, ToBlock: 99}, false, false},
		{"topic in another place", LogFilter{Topics: [][]common.Hash{{t2}}, ToBlock: 99}, false, true},
		{"more topics than it has", LogFilter{Topics: [][]common.Hash{nil, nil, nil}, ToBlock: 99}, false, true},
	} {
		if got := c.f.Matches(l); got != c.match {
			t.Errorf("%s: Matches = %v", c.name, got)
		}
		if got := c.f.BloomMayMatch(bloom); got != c.bloom {
			t.Errorf("%s: BloomMayMatch = %v", c.name, got)
		}
	}
	// A real bloom never says no to a log of its block.
	d := chain(t)
	transfer := crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))
	f := &LogFilter{Addresses: []common.Address{d.token}, Topics: [][]common.Hash{{transfer}}, ToBlock: 1 << 62}
	for _, b := range d.blocks {
		hasLogs := len(chainList(t, b.Receipts)) > 0 && strings.Contains(string(b.Receipts), transfer.Hex()[2:])
		if hasLogs && !f.BloomMayMatch(b.Header.Bloom) {
			t.Fatalf("%s: bloom says no to its own logs", b.Name)
		}
	}
}
