package config

import (
	"errors"
	"fmt"
	"strings"
)

// expandEnv replaces ${NAME} in every string field with the value of the
// environment variable NAME, as reported by lookup. It returns every
// problem joined. Errors name the variable and the field, never the rest
// of the value: URLs carry API keys.
func (c *Config) expandEnv(lookup func(string) (string, bool)) error {
	var errs []error
	expand := func(where string, s *string) {
		v, err := expandString(*s, lookup)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			return
		}
		*s = v
	}
	expandList := func(where string, list []string) {
		for i := range list {
			expand(fmt.Sprintf("%s item %d", where, i+1), &list[i])
		}
	}

	expand("listen", &c.Listen)
	expand("redis: url", &c.Redis.URL)
	expand("redis: prefix", &c.Redis.Prefix)
	expand("auth: file", &c.Auth.File)
	for i := range c.Keys {
		// The message names the key by position: its name may come from
		// the environment too, and its value never appears.
		expand(fmt.Sprintf("keys item %d: name", i+1), &c.Keys[i].Name)
		expand(fmt.Sprintf("keys item %d: key", i+1), &c.Keys[i].Key)
		expand(fmt.Sprintf("keys item %d: hash", i+1), &c.Keys[i].Hash)
	}
	for i := range c.Networks {
		n := &c.Networks[i]
		where := fmt.Sprintf("network #%d", i+1)
		if v, err := expandString(n.Name, lookup); err != nil {
			errs = append(errs, fmt.Errorf("%s: name: %w", where, err))
		} else {
			n.Name = v
			where = networkLabel(i, n.Name)
		}
		expandList(where+": methods.allow", n.Methods.Allow)
		expandList(where+": methods.deny", n.Methods.Deny)
		for j := range n.Upstreams {
			u := &n.Upstreams[j]
			uwhere := fmt.Sprintf("%s upstream #%d", where, j+1)
			if v, err := expandString(u.Name, lookup); err != nil {
				errs = append(errs, fmt.Errorf("%s: name: %w", uwhere, err))
			} else {
				u.Name = v
				uwhere = where + " " + upstreamLabel(j, u.Name)
			}
			expand(uwhere+": url", &u.URL)
			expand(uwhere+": ws_url", &u.WSURL)
			expand(uwhere+": operator", &u.Operator)
		}
		expand(where+": trust.checkpoint", &n.Trust.Checkpoint)
		expand(where+": trust.data_dir", &n.Trust.DataDir)
		for j := range n.Trust.BeaconAPIs {
			a := &n.Trust.BeaconAPIs[j]
			awhere := fmt.Sprintf("%s: trust.beacon_apis #%d", where, j+1)
			expand(awhere+": url", &a.URL)
			for k, v := range a.Headers { // values only: names are not secret
				expand(awhere+": header "+quote(k), &v)
				a.Headers[k] = v
			}
		}
	}
	return errors.Join(errs...)
}

// expandString expands ${NAME} and ${NAME:-DEFAULT} references in s.
// Only ${...} is special; a lone "$" (and "$$") is kept as is. NAME matches
// [A-Za-z_][A-Za-z0-9_]*. A variable that is unset or set but empty is an
// error, as it would leave a URL without its key; ${NAME:-DEFAULT} uses
// DEFAULT (which may be empty, and is taken literally) instead. A "${"
// without "}" and an invalid name are errors. Error texts never quote s
// nor a variable's value.
func expandString(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		b.WriteString(rest[:i])
		pos := len(s) - len(rest) + i + 1 // 1-based position of "$" in s
		end := strings.IndexByte(rest[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf(`"${" at character %d has no closing "}"`, pos)
		}
		v, err := expandRef(rest[i+2:i+2+end], pos, lookup)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
		rest = rest[i+2+end+1:]
	}
}

// expandRef resolves the inside of one ${...} found at 1-based position pos.
func expandRef(ref string, pos int, lookup func(string) (string, bool)) (string, error) {
	name, def, hasDefault := strings.Cut(ref, ":-")
	if !validEnvName(name) {
		return "", fmt.Errorf(`invalid environment variable reference at character %d: write ${NAME} or ${NAME:-DEFAULT}, where NAME is letters, digits and "_", not starting with a digit`, pos)
	}
	if hasDefault && strings.Contains(def, "${") {
		return "", fmt.Errorf(`the default of ${%s:-…} at character %d: a default may not hold "${" (nested references are not expanded)`, name, pos)
	}
	v, ok := lookup(name)
	switch {
	case ok && v != "":
		return v, nil
	case hasDefault:
		return def, nil
	case !ok:
		return "", fmt.Errorf("environment variable %s is not set (set it, or write ${%s:-DEFAULT} for a default)", name, name)
	default:
		return "", fmt.Errorf("environment variable %s is set but empty (write ${%s:-} where empty is meant)", name, name)
	}
}

func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// networkLabel names a network in messages: by name, or by position when
// it has none.
func networkLabel(i int, name string) string {
	if name == "" {
		return fmt.Sprintf("network #%d", i+1)
	}
	return fmt.Sprintf("network %s", quote(name))
}

// upstreamLabel names an upstream in messages, like networkLabel.
func upstreamLabel(j int, name string) string {
	if name == "" {
		return fmt.Sprintf("upstream #%d", j+1)
	}
	return fmt.Sprintf("upstream %s", quote(name))
}
