// Package plan turns one JSON-RPC call into a Plan: what kind of work it is
// (answered by braid, forwarded, a write, sticky filter state), whether its
// params are well-formed where braid can tell, and where its block
// parameter sits. Planning does no I/O; execution follows the plan.
package plan
