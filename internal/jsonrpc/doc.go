// Package jsonrpc owns braid's JSON-RPC 2.0 wire format: decoding client
// requests (single, batch, notification), encoding responses with the
// client's id echoed byte for byte, decoding upstream responses without
// re-encoding their results, and the table of error codes braid answers with.
//
// Every error that reaches a client is turned into an *Error here (see
// FromError), so the mapping from Go errors to JSON-RPC codes lives in one
// place.
package jsonrpc
