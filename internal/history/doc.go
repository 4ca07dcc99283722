// Package history keeps verified chain content — block headers, bodies and
// receipts in canonical RLP, with a transaction-hash index — in a
// persistent, byte-bounded store, so braid can answer for history that
// every provider has pruned and serve it to peers.
//
// # The store
//
// Open opens (or creates) a Store in a directory: a pebble database through
// go-ethereum's ethdb/pebble wrapper, laid out by go-ethereum's core/rawdb
// accessors (the same keys and encodings a geth node uses: headers, bodies,
// receipts in the storage encoding, canonical hashes, transaction lookup
// entries), plus braid's own records under the "~braid/" prefix.
//
// Content enters only verified, in dependency order, and every Put checks
// it again against what is already stored:
//
//	PutHeader(h)                   the caller trusts h (braid's trusted path)
//	PutBody(hash, body)            must rebuild the stored header's roots
//	PutReceipts(hash, receipts)    must rebuild its receipts root, one per transaction
//	PutBodyRLP / PutReceiptsRLP    the same from raw RLP (from peers or era files)
//	SetCanonical(number, hash, p)  the caller's trusted path decides, never a peer
//
// Each canonical record keeps its Provenance: Proven (braid's proofs, or a
// published era1 file) or Agreed (an operators' quorum). Canonical(number,
// least) returns a record only at least that provenance — strict mode asks
// for Proven — so a quorum-settled record is never taken for a proven
// one. A proven decision upgrades an agreed record; an agreed decision
// never replaces a proven one (ErrProvenCanonical). Records written before
// provenance was kept read as Agreed.
//
// PutBlock and PutBlockRLP store a whole block in one write. So a peer can
// never make the store hold what braid did not verify. The getters
// (Header, Body, Receipts, their …RLP forms for serving peers, Has,
// Canonical, TxLookup, Block) read without verifying again; receipts are
// kept and served in go-ethereum's storage encoding
// (verify.ReceiptsStorage). Options.Notify tells the peer layer of every
// block stored or evicted (to announce it in the DHT or withdraw it);
// Items lists what is held, to announce it again after a restart.
//
// # The byte bound
//
// Options.MaxBytes bounds the bytes the store accounts: every key and value
// it writes (content, indexes, its own records) plus EntryOverhead per
// entry for pebble's per-key cost. Before a write would pass the bound, the
// store evicts whole blocks (header, body, receipts and their index
// entries together), lowest Keeper.Value first; the default Keeper (LRU)
// values a block by when it was last read or written. Eviction runs in
// batches: it frees 1/64 of the bound more than the write needs, so it
// does not run on every put of a full store. The files on disk differ from
// the accounted bytes: pebble compresses blocks and keeps deleted data
// until compaction (docs/benchmarks.md has measured figures).
//
// A block in Options.Keep (peers.keep: all, pre-merge, from N) is exempt
// from eviction — but only within the bound: the bound always wins. When
// every evictable block is gone and a kept block still does not fit, the
// write fails with ErrFull and nothing is evicted; a block outside the
// keep range never evicts a kept one. So a keep range larger than the
// bound fills the store and then stops growing (the Filler reports the
// store full), and content braid verified while serving clients is then
// no longer kept: size MaxBytes for the keep range plus a working margin.
//
// A new block that is worth less to the Keeper than every block it would
// displace is refused with ErrFull too (issue 16's pricing keeper keeps
// old, rare content over new, common content).
//
// # Background fill and era import
//
// A Filler fills the keep range from a Source (the lead implements it over
// providers and peers) within a bandwidth budget, verifying everything
// before it is stored and persisting its progress. ImportEra seeds the
// store from era1/ere archive files read with go-ethereum's
// core/rawdb/eradb, checking every body and receipts list against a header:
// the file's own when the file is a published era1 file whose SHA-256
// matches (EraChecksums; the mainnet and Sepolia lists are embedded), else
// one from a CanonicalSource (braid's trusted path, with its provenance).
package history
