package merge

import (
	"encoding/hex"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// CallKey is the key a call that is not cached merges under while in
// flight: "\x00call|method|params@0xhash", the call pinned to the tip's
// block hash, built in one allocation.
func CallKey(method string, params []byte, hash common.Hash) string {
	var hx [2 * common.HashLength]byte
	hex.Encode(hx[:], hash[:])
	var sb strings.Builder
	sb.Grow(len("\x00call|") + len(method) + 1 + len(params) + 3 + len(hx))
	sb.WriteString("\x00call|")
	sb.WriteString(method)
	sb.WriteByte('|')
	sb.Write(params)
	sb.WriteString("@0x")
	sb.Write(hx[:])
	return sb.String()
}
