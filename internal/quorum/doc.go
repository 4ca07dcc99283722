// Package quorum owns agreement across operators: it asks the same pinned
// read of K distinct operators and compares their normalised answers
// (Run), counts strikes against operators whose answers lose a dispute
// and quarantines repeat offenders (Strikes), and keeps a bounded log of
// disputes for operators to inspect (Log).
package quorum
