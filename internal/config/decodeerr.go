package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// This file turns yaml.v3's messages, which speak of Go types, into
// messages that speak of the configuration file.

var (
	unknownFieldRE = regexp.MustCompile(`^line (\d+): field (.*) not found in type (\S+)$`)
	mismatchRE     = regexp.MustCompile("^line (\\d+): cannot unmarshal (\\S+)(?: `(.*)`)? into (.+)$")
	dupKeyRE       = regexp.MustCompile(`^line (\d+): mapping key (.*) already defined at line (\d+)$`)
)

// sections maps the Go types of the schema to the words a user knows them
// by, and to the type whose keys are valid there.
var sections = map[string]struct {
	word string
	typ  reflect.Type
}{
	"config.Config":       {"top level", reflect.TypeFor[Config]()},
	"config.Limits":       {"limits", reflect.TypeFor[Limits]()},
	"config.WebSocket":    {"websocket", reflect.TypeFor[WebSocket]()},
	"config.Filters":      {"filters", reflect.TypeFor[Filters]()},
	"config.Cache":        {"cache", reflect.TypeFor[Cache]()},
	"config.Redis":        {"redis", reflect.TypeFor[Redis]()},
	"config.Verify":       {"verify", reflect.TypeFor[Verify]()},
	"config.EVM":          {"verify.evm", reflect.TypeFor[EVM]()},
	"config.Network":      {"network", reflect.TypeFor[Network]()},
	"config.Upstream":     {"upstream", reflect.TypeFor[Upstream]()},
	"config.Methods":      {"methods", reflect.TypeFor[Methods]()},
	"config.Head":         {"head", reflect.TypeFor[Head]()},
	"config.Hedge":        {"hedge", reflect.TypeFor[Hedge]()},
	"config.Breaker":      {"breaker", reflect.TypeFor[Breaker]()},
	"config.Quorum":       {"quorum", reflect.TypeFor[Quorum]()},
	"config.MethodQuorum": {"quorum method", reflect.TypeFor[MethodQuorum]()},
	"config.Strikes":      {"strikes", reflect.TypeFor[Strikes]()},
	"config.Require":      {"require", reflect.TypeFor[Require]()},
	"config.Trust":        {"trust", reflect.TypeFor[Trust]()},
	"config.BeaconAPI":    {"trust.beacon_apis entry", reflect.TypeFor[BeaconAPI]()},
	"config.BeaconChain":  {"trust.beacon_chain", reflect.TypeFor[BeaconChain]()},
	"config.BeaconFork":   {"trust.beacon_chain.forks entry", reflect.TypeFor[BeaconFork]()},
}

// syntaxError words an error from the YAML parser: yaml.v3's "yaml: "
// prefix gives way to the source name; the line number is kept.
func syntaxError(err error, source string) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if strings.Contains(msg, "did not find expected") {
		// yaml.v3 reports the line where the enclosing block starts.
		msg += " (check the indentation of this block)"
	}
	return fmt.Errorf("%s: %s", source, msg)
}

// decodeError words an error from the strict decode. doc is the parsed
// document, used to find the key and full value behind a type mismatch.
func decodeError(err error, source string, doc *yaml.Node) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return syntaxError(err, source)
	}
	const maxErrors = 20
	errs := make([]error, 0, min(len(te.Errors), maxErrors+1))
	for i, msg := range te.Errors {
		if i == maxErrors {
			errs = append(errs, fmt.Errorf("%s: %d more errors not shown", source, len(te.Errors)-i))
			break
		}
		errs = append(errs, fmt.Errorf("%s: %s", source, rewriteTypeError(msg, doc)))
	}
	return errors.Join(errs...)
}

func rewriteTypeError(msg string, doc *yaml.Node) string {
	if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
		line, key, typ := m[1], m[2], m[3]
		where := "in " + strings.ToLower(strings.TrimPrefix(typ, "config."))
		s, ok := sections[typ]
		if ok {
			where = "in " + s.word
			if typ == "config.Config" {
				where = "at the top level"
			}
		}
		out := fmt.Sprintf("line %s: unknown key %s %s", line, quote(key), where)
		if ok {
			if near := closestKey(key, s.typ); near != "" {
				out += fmt.Sprintf(" (did you mean %q?)", near)
			}
		}
		return out
	}
	if m := dupKeyRE.FindStringSubmatch(msg); m != nil {
		key := m[2]
		if k, err := strconv.Unquote(key); err == nil {
			key = quote(k)
		}
		return fmt.Sprintf("line %s: key %s is set twice (first at line %s)", m[1], key, m[3])
	}
	if m := mismatchRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		tag, value, hasValue, goType := m[2], m[3], strings.Contains(msg, "`"), m[4]
		label, node := findNode(doc, line, tag, value, hasValue, goType)
		got := describe(tag, value, node)
		want := expected(goType)
		out := fmt.Sprintf("line %d: ", line)
		if label != "" {
			out += label + ": "
		}
		out += fmt.Sprintf("expected %s, got %s", want, got)
		if goType == "time.Duration" && (tag == "!!int" || tag == "!!float") {
			out += " (a duration needs a unit, e.g. \"10s\")"
		}
		return out
	}
	return msg
}

// expected names, in user words, what a Go type of the schema accepts.
func expected(goType string) string {
	switch goType {
	case "time.Duration":
		return `a duration such as "10s" or "1m30s"`
	case "int", "int64":
		return "a whole number"
	case "uint64":
		return "a whole number of at least 0"
	case "float64":
		return "a number"
	case "string":
		return "a single text value"
	case "[]string":
		return "a list of text values"
	case "[]config.Network":
		return "a list of networks"
	case "[]config.Upstream":
		return "a list of upstreams"
	case "config.Config":
		return `a mapping of keys such as "networks:"`
	case "config.Network":
		return "a network (a mapping of keys such as \"name:\")"
	case "config.Upstream":
		return "an upstream (a mapping of keys such as \"name:\")"
	case "config.Quorum":
		return "a mapping such as \"quorum: {k: 2}\""
	case "config.MethodQuorum":
		return "a mapping such as \"eth_call: {k: 3}\""
	case "map[string]config.MethodQuorum":
		return "a mapping of method names or groups to {k: …, ignore_fields: […]}"
	}
	if strings.HasPrefix(goType, "config.") {
		return "a mapping of keys"
	}
	return goType
}

// describe words the value yaml.v3 could not decode. node, when found,
// holds the full value (yaml.v3 truncates long ones).
func describe(tag, value string, node *yaml.Node) string {
	switch tag {
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	case "!!null":
		return "nothing"
	}
	if node != nil {
		value = node.Value
	}
	value = safeValue(value)
	switch tag {
	case "!!int", "!!float", "!!bool":
		return value
	}
	return strconv.Quote(value)
}

// findNode finds the node a type mismatch is about, returning the key it is
// under ("timeout", "networks item") and the node, or "" and nil. Several
// candidates on one line are told apart by tag and value prefix.
func findNode(doc *yaml.Node, line int, tag, value string, hasValue bool, goType string) (string, *yaml.Node) {
	prefix, truncated := strings.CutSuffix(value, "...")
	match := func(n *yaml.Node) bool {
		if n.Line != line || n.ShortTag() != tag && n.Tag != tag {
			return false
		}
		if !hasValue {
			return true
		}
		if truncated {
			return strings.HasPrefix(n.Value, prefix)
		}
		return n.Value == value
	}
	type hit struct {
		label string
		node  *yaml.Node
	}
	var hits []hit
	var walk func(n *yaml.Node, key string, depth int)
	walk = func(n *yaml.Node, key string, depth int) {
		if n == nil || depth > 100 || len(hits) > 100 {
			return
		}
		if n.Kind != yaml.DocumentNode && match(n) {
			hits = append(hits, hit{key, n})
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, "", depth+1)
			}
		case yaml.SequenceNode:
			item := ""
			if key != "" {
				item = key + " item"
			}
			for _, c := range n.Content {
				walk(c, item, depth+1)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], safeValue(n.Content[i].Value), depth+1)
			}
		}
	}
	walk(doc, "", 0)
	if len(hits) == 0 {
		return "", nil
	}
	// Prefer a key of the schema that has the type decoding wanted; else
	// the innermost candidate.
	keys := keysOfType(goType)
	for _, h := range hits {
		if keys[h.label] {
			return h.label, h.node
		}
	}
	last := hits[len(hits)-1]
	return last.label, last.node
}

// keysOfType returns the keys of the schema whose values have Go type
// goType, and "K item" for lists K whose elements have it.
func keysOfType(goType string) map[string]bool {
	keys := make(map[string]bool)
	for _, s := range sections {
		for i := range s.typ.NumField() {
			f := s.typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			switch {
			case f.Type.String() == goType:
				keys[name] = true
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().String() == goType:
				keys[name+" item"] = true
			}
		}
	}
	return keys
}

// closestKey returns the key of struct type t nearest to key by edit
// distance, if it is near enough to be a likely typo.
func closestKey(key string, t reflect.Type) string {
	best, bestDist := "", 3
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		if d := editDistance(strings.ToLower(key), name); d < bestDist && d < len(name) {
			best, bestDist = name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, bounded for
// long inputs.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// quote quotes a key or value for an error message, made safe by safeValue.
func quote(s string) string { return strconv.Quote(safeValue(s)) }

// safeValue shortens a value echoed in an error and, when it looks like a
// URL, shows only its scheme and host: it may be a misplaced API key URL.
func safeValue(s string) string {
	if strings.Contains(s, "://") {
		return Redact(s)
	}
	const maxRunes = 40
	if utf8.RuneCountInString(s) > maxRunes {
		r := []rune(s)
		return string(r[:maxRunes]) + "…"
	}
	return s
}
