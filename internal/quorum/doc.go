// Package quorum owns agreement across operators: it asks the same pinned
// read of K distinct operators and compares their normalised answers
// (Run), and keeps a bounded log of disputes for operators to inspect
// (Log). It only reports who lost; what a lost dispute costs an operator
// is package operator's rule.
package quorum
