// Package verify checks answers against block headers braid trusts: a
// header must hash to the hash it was asked for, account and storage
// answers must be proven by Merkle proofs against the header's state
// root, transactions, receipts and withdrawals must rebuild the header's
// roots, and logs must come from verified receipts. Every check is done
// with go-ethereum's own types, hashing, RLP and trie code. The package
// does no I/O: callers fetch, this package judges.
package verify
