package ledger

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethdb/pebble"
)

// The database's keys: an account under its peer id's bytes, a held
// block's rarity under its hash.
const (
	accountPrefix = "a/"
	heldPrefix    = "h/"
)

// cacheMB is pebble's block cache for the ledger: its records are small.
const cacheMB = 8

// database is the ledger's pebble database (go-ethereum's ethdb wrapper).
type database struct {
	kv *pebble.Database
}

// Open returns a ledger persisted in dir (created if needed): its accounts
// (balances, flows, audits, claims) and the rarity of held content
// survive a restart. Changes are written every FlushInterval (by Run) and
// on Close.
func Open(dir string, opts Options) (*Ledger, error) {
	l, err := New(opts)
	if err != nil {
		return nil, err
	}
	kv, err := pebble.New(dir, cacheMB, 0, "braid/ledger/", false)
	if err != nil {
		l.metrics.unregister()
		return nil, fmt.Errorf("ledger: open %s: %w", dir, err)
	}
	l.db = &database{kv: kv}
	if err := l.load(); err != nil {
		kv.Close()
		l.metrics.unregister()
		return nil, err
	}
	l.log.Info("ledger opened", "dir", dir, "peers", len(l.accounts), "held", len(l.held.m))
	return l, nil
}

// load reads every account and held block's record. A record that does
// not decode is dropped with a warning.
func (l *Ledger) load() error {
	var bad [][]byte
	it := l.db.kv.NewIterator([]byte(accountPrefix), nil)
	for it.Next() {
		id, a, err := decodeAccount(it.Key()[len(accountPrefix):], it.Value(), &l.cfg)
		if err != nil {
			bad = append(bad, append([]byte(nil), it.Key()...))
			continue
		}
		l.accounts[id] = a
	}
	err := it.Error()
	it.Release()
	if err != nil {
		return fmt.Errorf("ledger: read accounts: %w", err)
	}
	it = l.db.kv.NewIterator([]byte(heldPrefix), nil)
	for it.Next() {
		e, err := decodeHeld(it.Value())
		if err != nil || len(it.Key()) != len(heldPrefix)+common.HashLength {
			bad = append(bad, append([]byte(nil), it.Key()...))
			continue
		}
		hash := common.BytesToHash(it.Key()[len(heldPrefix):])
		if n := l.held.put(hash, e.Number, e.Parts, l.cfg.MaxHeld); n != nil {
			n.Copies, n.Raw, n.Sampled = e.Copies, e.Raw, e.Sampled
		}
	}
	err = it.Error()
	it.Release()
	if err != nil {
		return fmt.Errorf("ledger: read held blocks: %w", err)
	}
	clear(l.held.dirty)
	bad = append(bad, l.loadMeta()...)
	for len(l.accounts) > l.cfg.MaxPeers {
		l.forgetOne()
	}
	for _, k := range bad {
		l.log.Warn("ledger: dropping an unreadable record", "key", fmt.Sprintf("%x", k))
		if err := l.db.kv.Delete(k); err != nil {
			return fmt.Errorf("ledger: drop unreadable record: %w", err)
		}
	}
	return nil
}

// Flush writes the accounts and held blocks changed since the last flush,
// the served tip and the last survey. It does nothing for a ledger kept
// in memory.
func (l *Ledger) Flush() error {
	head, headKnown := l.headNow()
	now := l.now()
	l.mu.Lock()
	if l.db == nil {
		l.mu.Unlock()
		return nil
	}
	if headKnown {
		l.markHead(head, now)
	}
	b := l.db.kv.NewBatch()
	err := l.flushMeta(b)
	for id := range l.dirty {
		if a := l.accounts[id]; a != nil {
			err = errors.Join(err, putJSON(b, accountPrefix+string(id), a))
		}
	}
	for id := range l.gone {
		err = errors.Join(err, b.Delete([]byte(accountPrefix+string(id))))
	}
	for hash := range l.held.dirty {
		if e := l.held.m[hash]; e != nil {
			err = errors.Join(err, putJSON(b, heldPrefix+string(hash[:]), e))
		}
	}
	for hash := range l.held.gone {
		err = errors.Join(err, b.Delete([]byte(heldPrefix+string(hash[:]))))
	}
	clear(l.dirty)
	clear(l.gone)
	clear(l.held.dirty)
	clear(l.held.gone)
	l.mu.Unlock()
	if err == nil {
		err = b.Write()
	}
	if err != nil {
		return fmt.Errorf("ledger: flush: %w", err)
	}
	return nil
}

// persisted reports whether the ledger has a database open.
func (l *Ledger) persisted() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.db != nil
}

// putJSON puts v's JSON under key.
func putJSON(b interface{ Put(k, v []byte) error }, key string, v any) error {
	enc, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), enc)
}

// Close refuses the requests still waiting, writes what changed and closes
// the database. The peer node using the ledger should be closed first.
func (l *Ledger) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	for _, t := range l.q.waiting {
		t.state, t.err = refused, errClosed
		close(t.ready)
	}
	l.q.waiting = nil
	l.mu.Unlock()
	err := l.Flush()
	l.mu.Lock()
	db := l.db
	l.db = nil
	l.mu.Unlock()
	if db != nil {
		err = errors.Join(err, db.kv.Close())
	}
	l.metrics.unregister()
	return err
}

// errClosed refuses requests waiting when the ledger closes.
var errClosed = errors.New("ledger: closed")

// loadMeta reads the last served tip and survey; it returns the keys of
// records that do not decode. l.db must be open.
func (l *Ledger) loadMeta() (bad [][]byte) {
	if data, err := l.db.kv.Get([]byte(headKey)); err == nil {
		if m, err := decodeHead(data); err == nil {
			l.meta.head = m
		} else {
			bad = append(bad, []byte(headKey))
		}
	}
	if data, err := l.db.kv.Get([]byte(surveyKey)); err == nil {
		if s, err := decodeSurvey(data); err == nil {
			l.meta.survey = &s
		} else {
			bad = append(bad, []byte(surveyKey))
		}
	}
	return bad
}

// flushMeta puts the served tip and the last survey, if they changed,
// into b. l.mu must be held.
func (l *Ledger) flushMeta(b interface{ Put(k, v []byte) error }) error {
	var err error
	if l.meta.headDirty {
		err = putJSON(b, headKey, l.meta.head)
		l.meta.headDirty = false
	}
	if l.meta.surveyDirty && l.meta.survey != nil {
		err = errors.Join(err, putJSON(b, surveyKey, l.meta.survey))
		l.meta.surveyDirty = false
	}
	return err
}
