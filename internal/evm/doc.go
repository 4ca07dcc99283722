// Package evm answers eth_call, eth_estimateGas and eth_createAccessList on
// a local go-ethereum EVM over state proven against a trusted header, so
// that strict verification can serve what wallets ask most.
//
// The executor never trusts an operator's word about state. Accounts and
// storage come from eth_getProof answers pinned to the trusted block's hash
// and checked against its state root, code is checked against the proven
// code hash, and BLOCKHASH comes from the EIP-2935 history contract's
// proven storage (or, before Prague, from the Source's proven ancestors).
// Where to look first is a hint: the executor asks one operator for
// eth_createAccessList at the pinned block and fetches the proofs and code
// it names (with sender, recipient and fee recipient) in one batch; what
// the hint missed is fetched on demand. A wrong hint costs round trips,
// never correctness.
//
// The package does no I/O of its own: a Source (implemented by the trust
// stage) fetches, fails over between operators and strikes the ones whose
// answers fail their checks. go-ethereum's state.Reader cannot return an
// error from Code, CodeSize or Has, so the reader records every failure and
// the executor fails the call with a *StateError the trust stage can retry.
// Everything a client sees equals what a go-ethereum node answers for the
// same block: results, revert errors (code 3 with the revert data), VM and
// parameter errors, and the state and block overrides geth accepts.
package evm
