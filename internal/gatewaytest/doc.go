// Package gatewaytest is the harness the tests of the gateway and of the
// server share: fake JSON-RPC providers on loopback (Fake) with
// deterministic answers and switches for the faults braid must survive,
// test configurations over them, and a started gateway that tests call
// through its executor (Harness). Only tests import it.
package gatewaytest
