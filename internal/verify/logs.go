package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// ErrInvalidFilter is wrapped by the errors of ParseLogFilter: the
// client's filter, not an upstream's answer, is wrong.
var ErrInvalidFilter = errors.New("invalid log filter")

// Limits of go-ethereum's eth_getLogs.
const (
	maxFilterTopics    = 4
	maxFilterSubTopics = 1000
)

// LogFilter is an eth_getLogs filter with its block tags resolved: logs of
// one of Addresses (none: any address) whose topic i is one of Topics[i]
// (nil or empty: any topic, but the log must have a topic i), in blocks
// FromBlock to ToBlock or, when BlockHash is set, in that block alone.
// The semantics are go-ethereum's.
type LogFilter struct {
	Addresses          []common.Address
	Topics             [][]common.Hash
	FromBlock, ToBlock uint64
	BlockHash          *common.Hash
}

// ParseLogFilter decodes the filter object of an eth_getLogs request (as
// go-ethereum does) and resolves its block tags ("latest", "safe", …;
// missing numbers are "latest") with resolve. A range ending before it
// starts is returned as is: it matches nothing. Errors wrap
// ErrInvalidFilter, or are resolve's own.
func ParseLogFilter(raw json.RawMessage, resolve func(tag string) (uint64, error)) (*LogFilter, error) {
	var in struct {
		BlockHash *common.Hash      `json:"blockHash"`
		FromBlock *string           `json:"fromBlock"`
		ToBlock   *string           `json:"toBlock"`
		Address   json.RawMessage   `json:"address"`
		Topics    []json.RawMessage `json:"topics"`
	}
	if !isNullJSON(raw) {
		if t := bytes.TrimSpace(raw); t[0] != '{' {
			return nil, fmt.Errorf("%w: not an object", ErrInvalidFilter)
		}
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidFilter, err)
		}
	}
	f := &LogFilter{BlockHash: in.BlockHash}
	if in.BlockHash != nil {
		if in.FromBlock != nil || in.ToBlock != nil {
			return nil, fmt.Errorf("%w: cannot specify both blockHash and fromBlock/toBlock", ErrInvalidFilter)
		}
	} else {
		var err error
		if f.FromBlock, err = filterBlock(in.FromBlock, resolve); err != nil {
			return nil, err
		}
		if f.ToBlock, err = filterBlock(in.ToBlock, resolve); err != nil {
			return nil, err
		}
	}
	if !isNullJSON(in.Address) {
		var one common.Address
		if err := json.Unmarshal(in.Address, &one); err == nil {
			f.Addresses = []common.Address{one}
		} else if err := json.Unmarshal(in.Address, &f.Addresses); err != nil {
			return nil, fmt.Errorf("%w: address: %v", ErrInvalidFilter, err)
		}
		if len(f.Addresses) == 0 {
			f.Addresses = nil // [] is any address, as a missing list
		}
	}
	if len(in.Topics) > maxFilterTopics {
		return nil, fmt.Errorf("%w: more than %d topics", ErrInvalidFilter, maxFilterTopics)
	}
	if len(in.Topics) > 0 {
		f.Topics = make([][]common.Hash, len(in.Topics))
	}
	for i, t := range in.Topics {
		if isNullJSON(t) {
			continue
		}
		var one common.Hash
		if err := json.Unmarshal(t, &one); err == nil {
			f.Topics[i] = []common.Hash{one}
			continue
		}
		var alts []*common.Hash
		if err := json.Unmarshal(t, &alts); err != nil {
			return nil, fmt.Errorf("%w: topic %d: %v", ErrInvalidFilter, i, err)
		}
		if len(alts) > maxFilterSubTopics {
			return nil, fmt.Errorf("%w: more than %d alternatives for topic %d", ErrInvalidFilter, maxFilterSubTopics, i)
		}
		for _, h := range alts {
			if h == nil { // a null alternative matches anything
				f.Topics[i] = nil
				break
			}
			f.Topics[i] = append(f.Topics[i], *h)
		}
	}
	return f, nil
}

func filterBlock(s *string, resolve func(string) (uint64, error)) (uint64, error) {
	tag := "latest"
	if s != nil {
		tag = *s
	}
	if strings.HasPrefix(tag, "0x") || strings.HasPrefix(tag, "0X") {
		n, err := hexutil.DecodeUint64(tag)
		if err != nil {
			return 0, fmt.Errorf("%w: block %q: %v", ErrInvalidFilter, tag, err)
		}
		return n, nil
	}
	return resolve(tag)
}

// Matches reports whether the filter selects l (by its block, address and
// topics), as go-ethereum's filter does.
func (f *LogFilter) Matches(l *types.Log) bool {
	if f.BlockHash != nil {
		if l.BlockHash != *f.BlockHash {
			return false
		}
	} else if l.BlockNumber < f.FromBlock || l.BlockNumber > f.ToBlock {
		return false
	}
	return f.matchesContent(l)
}

func (f *LogFilter) matchesContent(l *types.Log) bool {
	if len(f.Addresses) > 0 && !slices.Contains(f.Addresses, l.Address) {
		return false
	}
	if len(f.Topics) > len(l.Topics) {
		return false
	}
	for i, alts := range f.Topics {
		if len(alts) > 0 && !slices.Contains(alts, l.Topics[i]) {
			return false
		}
	}
	return true
}

// BloomMayMatch reports whether a block whose logs bloom is b may hold a
// log the filter selects. A bloom has no false negatives: when it says
// no, the block has none.
func (f *LogFilter) BloomMayMatch(b types.Bloom) bool {
	if len(f.Addresses) > 0 && !slices.ContainsFunc(f.Addresses, func(a common.Address) bool { return types.BloomLookup(b, a) }) {
		return false
	}
	for _, alts := range f.Topics {
		if len(alts) > 0 && !slices.ContainsFunc(alts, func(t common.Hash) bool { return types.BloomLookup(b, t) }) {
			return false
		}
	}
	return true
}

// LogBlocks returns the blocks an eth_getLogs answer names, in order of
// first appearance, so the caller can verify their receipts before
// VerifyLogs.
func LogBlocks(raw json.RawMessage) ([]common.Hash, error) {
	elems, err := logElements(raw)
	if err != nil {
		return nil, err
	}
	var hashes []common.Hash
	seen := map[common.Hash]bool{}
	for i, el := range elems {
		what := "log " + itoa(i)
		m, err := jsonObject(el, what, logNames)
		if err != nil {
			return nil, err
		}
		var h common.Hash
		if err := jsonField(m, what, "blockHash", &h, true); err != nil {
			return nil, err
		}
		if !seen[h] {
			seen[h] = true
			hashes = append(hashes, h)
		}
	}
	return hashes, nil
}

// VerifyLogs checks an eth_getLogs answer for filter f against verified
// receipts (VerifyReceiptsTxs) by block hash. Every log must be in the
// receipts of the block it names (a block missing from receiptsByBlock is
// an *Error: see LogBlocks), be that log in content and place (block,
// transaction, block-wide log index, not removed), match f, and come in
// chain order, each once.
//
// When complete is true the answer must also hold every log of
// receiptsByBlock that f selects: the caller vouches that receiptsByBlock
// holds every block of f's range (or f's block) whose header bloom may
// match (BloomMayMatch), so a dropped log is an *Error.
func VerifyLogs(f *LogFilter, raw json.RawMessage, receiptsByBlock map[common.Hash][]*types.Receipt, complete bool) error {
	elems, err := logElements(raw)
	if err != nil {
		return err
	}
	blockLogs := map[common.Hash][]*types.Log{}
	logsOf := func(block common.Hash) ([]*types.Log, bool) {
		if ls, ok := blockLogs[block]; ok {
			return ls, true
		}
		rs, ok := receiptsByBlock[block]
		if !ok {
			return nil, false
		}
		var ls []*types.Log
		for _, r := range rs {
			ls = append(ls, r.Logs...)
		}
		blockLogs[block] = ls
		return ls, true
	}
	type place struct {
		block common.Hash
		index uint
	}
	seen := map[place]bool{}
	var prev *types.Log
	for i, el := range elems {
		what := "log " + itoa(i)
		var l types.Log
		if err := l.UnmarshalJSON(el); err != nil {
			return errorf("%s does not decode: %v", what, err)
		}
		ls, ok := logsOf(l.BlockHash)
		if !ok {
			return errorf("%s is in block %s, whose receipts are not verified", what, l.BlockHash.Hex())
		}
		if l.Index >= uint(len(ls)) || ls[l.Index].Index != l.Index {
			return errorf("%s says it is log %d of block %s, which has %d logs", what, l.Index, l.BlockHash.Hex(), len(ls))
		}
		if err := checkLog(el, &l, ls[l.Index], what); err != nil {
			return err
		}
		if !f.Matches(&l) {
			return errorf("%s (address %s, block %d) does not match the filter", what, l.Address.Hex(), l.BlockNumber)
		}
		if prev != nil {
			switch {
			case l.BlockNumber < prev.BlockNumber || l.BlockNumber == prev.BlockNumber && l.Index <= prev.Index && l.BlockHash == prev.BlockHash:
				return errorf("%s (block %d, index %d) is out of order or repeated", what, l.BlockNumber, l.Index)
			case l.BlockNumber == prev.BlockNumber && l.BlockHash != prev.BlockHash:
				return errorf("%s is in block %s, the log before it in %s at the same height", what, l.BlockHash.Hex(), prev.BlockHash.Hex())
			}
		}
		seen[place{l.BlockHash, l.Index}] = true
		prev = &l
	}
	if !complete {
		return nil
	}
	for block := range receiptsByBlock {
		ls, _ := logsOf(block)
		for _, l := range ls {
			if f.Matches(l) && !seen[place{block, l.Index}] {
				return errorf("the answer lacks log %d of block %s (transaction %s), which the filter selects", l.Index, block.Hex(), l.TxHash.Hex())
			}
		}
	}
	return nil
}

// logElements checks an eth_getLogs answer's JSON and splits it into its
// elements (null: none).
func logElements(raw json.RawMessage) ([]json.RawMessage, error) {
	if err := jsonHygiene(raw, "logs"); err != nil {
		return nil, err
	}
	if isNullJSON(raw) {
		return nil, nil
	}
	if t := bytes.TrimSpace(raw); t[0] != '[' {
		return nil, errorf("logs are not a list")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, errorf("logs do not decode: %v", err)
	}
	return elems, nil
}
