package peers

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/braidrpc/braid/internal/verify"
)

// Kind names a part of a block: what a Key asks for.
type Kind uint8

// The kinds of content, as sent on the wire (one byte).
const (
	// Header is a block header in canonical RLP.
	Header Kind = 1
	// Body is a block body (transactions, uncles, withdrawals) in canonical
	// RLP.
	Body Kind = 2
	// Receipts is a block's receipts list in go-ethereum's storage
	// encoding (verify.ReceiptsStorage), as history.Store.ReceiptsRLP
	// returns it: the smallest encoding, checkable with the block's body.
	Receipts Kind = 3
	// Location is where a transaction is — its block's hash, number and
	// index (LocationSize bytes, see AppendLocation) — keyed by the
	// transaction's hash. It is no block content: never announced in the
	// DHT, asked of connected peers (Node.Locate), and believed only once
	// the block is canonical on braid's trusted path and its verified body
	// holds the transaction at that index.
	Location Kind = 4
)

// Kinds lists the kinds of block content, in wire order: what a node
// announces in the DHT. Location is not among them.
var Kinds = []Kind{Header, Body, Receipts}

// String names the kind (metric labels use it).
func (k Kind) String() string {
	switch k {
	case Header:
		return "header"
	case Body:
		return "body"
	case Receipts:
		return "receipts"
	case Location:
		return "location"
	}
	return "unknown"
}

// Valid reports whether k is a kind this protocol version knows.
func (k Kind) Valid() bool { return k >= Header && k <= Location }

// MaxSize is the largest payload of kind k a peer may send: verify's
// bounds (MaxHeaderRLP, MaxBodyRLP, MaxReceiptsRLP), which every real
// block is far below. A block's RLP is capped at 10 MiB by EIP-7934; a
// receipts list is bounded by gas (a log byte costs 8 gas, so at a 60M gas
// limit the logs of one block hold at most about 7.5 MB) and its storage
// encoding carries no blooms. 16 MiB leaves room for gas limits to grow
// about twofold before the bound must move. A response over the bound is
// cut off before it is read (see ReadResponse). An unknown kind has 0.
func (k Kind) MaxSize() int {
	switch k {
	case Header:
		return verify.MaxHeaderRLP
	case Body:
		return verify.MaxBodyRLP
	case Receipts:
		return verify.MaxReceiptsRLP
	case Location:
		return LocationSize
	}
	return 0
}

// Key names one piece of content: a kind of a block, by the block's hash
// (a Location by the transaction's hash).
type Key struct {
	Kind Kind
	Hash common.Hash
}

// String is the key as logs show it.
func (k Key) String() string { return k.Kind.String() + "/" + k.Hash.Hex() }

// Codecs of content CIDs: multicodec's private-use range (0x300000 and up),
// one per kind.
const (
	codecBase = 0x300000
)

// CID is the key's content identifier in the DHT: a CIDv1 whose codec
// names the kind (private-use multicodec 0x300000+kind) and whose
// multihash is keccak-256 of "braid/content/1/" + kind byte + block hash.
// The kind is hashed into the digest, not only named by the codec, because
// the DHT keys provider records by multihash alone: a header, body and
// receipts of one block must be three records, since a holder may keep a
// header without its body (providers prune bodies and keep headers).
func (k Key) CID() cid.Cid {
	digest := crypto.Keccak256([]byte(cidDomain), []byte{byte(k.Kind)}, k.Hash[:])
	mh, err := multihash.Encode(digest, multihash.KECCAK_256)
	if err != nil { // only for an unknown code or a wrong digest length
		panic(fmt.Sprintf("peers: keccak-256 multihash: %v", err))
	}
	return cid.NewCidV1(codecBase+uint64(k.Kind), mh)
}

const cidDomain = "braid/content/1/"
