package stream

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/core/types"

	"github.com/braidrpc/braid/internal/block"
)

// Log is one log of an emitted block, with its encodings.
type Log struct {
	*types.Log
	JSON        json.RawMessage // as added ("removed": false)
	RemovedJSON json.RawMessage // as removed by a reorg ("removed": true)
}

// ErrWrongHeader: the source answered with another block than asked.
var ErrWrongHeader = errors.New("stream: wrong header")

func encodeLogs(h block.Header, logs []*types.Log) ([]Log, error) {
	out := make([]Log, 0, len(logs))
	for _, l := range logs {
		if l.BlockHash != h.Hash || l.BlockNumber != h.Number {
			return nil, fmt.Errorf("%w: log of block %d %s among the logs of %d %s",
				ErrWrongHeader, l.BlockNumber, l.BlockHash, h.Number, h.Hash)
		}
		b, err := json.Marshal(l)
		if err != nil {
			return nil, fmt.Errorf("encoding log: %w", err)
		}
		out = append(out, Log{Log: l, JSON: b})
	}
	return out, nil
}

func encodeRemoved(l *types.Log) json.RawMessage {
	c := *l
	c.Removed = true
	b, _ := json.Marshal(&c) // it encoded once already
	return b
}
