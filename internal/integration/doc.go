// Package integration holds braid's end-to-end tests: the whole gateway
// (config → gateway → HTTP server) in front of an in-process devnet with
// real go-ethereum providers, compared against the providers' own answers
// and run under injected faults. It has no non-test code beyond this file.
package integration
