package plan

import (
	"encoding/json"
	"strings"

	"github.com/braidrpc/braid/internal/config"
	"github.com/braidrpc/braid/internal/jsonrpc"
)

// Plan is what execution needs to know about one call.
type Plan struct {
	Method string
	Kind   Kind
	// Spec is the method's table entry, nil for a method braid does not know.
	Spec *Method
	// Params are the call's raw params, unchanged (nil when absent).
	Params json.RawMessage
	// Args are the positional params split out (known methods only).
	Args []json.RawMessage
	// Quorum is how many distinct operators must agree on the answer, and
	// what the comparison ignores (K 1: an ordinary read).
	Quorum Quorum
	// Verify: the answer must be checked against a trusted header before
	// it is returned (strict mode).
	Verify bool
}

// Planner makes plans for one network under its method policy.
type Planner struct {
	allow  []string
	deny   []string
	quorum *QuorumPolicy

	strict          bool
	allowUnverified []string
	evmOff          string // why strict mode's local EVM is off, "" when on
}

// NewPlanner returns a planner enforcing the network's allow/deny lists
// and quorum policy (nil: no quorum).
func NewPlanner(p config.Methods, q *QuorumPolicy) *Planner {
	return &Planner{allow: p.Allow, deny: p.Deny, quorum: q}
}

// Plan classifies req and checks its params. The error, when not nil, is
// what the client gets: -32601 for a method the policy refuses (the
// network's deny and allow lists, and the node-private methods methods.allow
// does not name), -32602 for params braid can tell are wrong.
func (p *Planner) Plan(req *jsonrpc.Request) (*Plan, *jsonrpc.Error) {
	if !p.allowed(req.Method) {
		return nil, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "the method %s is not allowed on this endpoint", req.Method)
	}
	if group, private := privatePattern(req.Method); private && !privateAllowed(p.allow, req.Method, group) {
		return nil, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound,
			"the method %s is not available on this endpoint: it uses or changes a node's own keys or administration; an operator can allow it in methods.allow", req.Method)
	}
	verify, verr := p.verifyPolicy(req.Method)
	if verr != nil {
		return nil, verr
	}
	spec := Lookup(req.Method)
	pl := &Plan{Method: req.Method, Kind: Forward, Spec: spec, Params: req.Params, Quorum: p.quorum.For(req.Method), Verify: verify}
	if spec == nil {
		return pl, nil
	}
	pl.Kind = spec.Kind
	args, err := req.ParamList()
	if err != nil {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams, "invalid params: %s: %v", req.Method, err)
	}
	if len(args) < spec.Required {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams,
			"invalid params: %s needs at least %d params, got %d", req.Method, spec.Required, len(args))
	}
	if len(args) > len(spec.Params) {
		return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams,
			"invalid params: %s takes at most %d params, got %d", req.Method, len(spec.Params), len(args))
	}
	for i, a := range args {
		if len(a) == 0 {
			continue
		}
		if string(a) == "null" && i >= spec.Required {
			continue // an explicit null for an optional param is "absent"
		}
		if err := checkParam(spec.Params[i], a); err != nil {
			return nil, jsonrpc.Errorf(jsonrpc.CodeInvalidParams,
				"invalid params: %s param %d (%s): %v", req.Method, i, spec.Params[i], err)
		}
	}
	pl.Args = args
	return pl, nil
}

// allowed applies the policy. Deny patterns match regardless of case: a
// provider that resolves method names case-insensitively must not serve
// "Debug_traceTransaction" past a deny of "debug_*". Allow patterns match
// exactly, so an allow list never lets more through than it names.
func (p *Planner) allowed(method string) bool {
	if matchAny(p.deny, method, true) {
		return false
	}
	return len(p.allow) == 0 || matchAny(p.allow, method, false)
}

func matchAny(patterns []string, method string, foldCase bool) bool {
	for _, pat := range patterns {
		prefix, isPrefix := strings.CutSuffix(pat, "*")
		switch {
		case isPrefix && foldCase:
			if len(method) >= len(prefix) && strings.EqualFold(method[:len(prefix)], prefix) {
				return true
			}
		case isPrefix:
			if strings.HasPrefix(method, prefix) {
				return true
			}
		case foldCase:
			if strings.EqualFold(pat, method) {
				return true
			}
		case pat == method:
			return true
		}
	}
	return false
}
