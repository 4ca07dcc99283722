package upstream

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"github.com/braidrpc/braid/internal/jsonrpc"
)

// redactedMark replaces a secret of the upstream's URLs in text braid
// shows or logs.
const redactedMark = "<redacted>"

// keyParams are query parameters whose values are credentials whatever
// their length.
var keyParams = []string{"key", "apikey", "api_key", "api-key", "token", "access_token", "auth", "secret", "password", "x-api-key"}

// secretsOf lists the parts of rawURLs that may hold credentials, longest
// first: each URL whole and without its scheme, its path and query, its
// user info, and every path segment, query value, user name or password
// that looks like a key. Parts that are common words ("v3", "rpc",
// "mainnet") are not listed, so that redacting never garbles an ordinary
// message; a key is long or not a plain lower-case word.
func secretsOf(rawURLs ...string) []string {
	var out []string
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, raw := range rawURLs {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			continue
		}
		tail := u.EscapedPath()
		if u.RawQuery != "" {
			tail += "?" + u.RawQuery
		}
		hidden := u.User != nil || len(tail) > 1
		if !hidden {
			continue // scheme and host only: nothing secret in it
		}
		add(raw)
		if _, rest, ok := strings.Cut(raw, "://"); ok {
			add(rest)
		}
		if len(tail) >= 4 {
			add(tail)
		}
		if len(u.EscapedPath()) >= 4 {
			add(u.EscapedPath())
		}
		if len(u.RawQuery) >= 4 {
			add(u.RawQuery)
		}
		for _, seg := range strings.Split(u.EscapedPath(), "/") {
			if keyLike(seg) {
				add(seg)
				if dec, err := url.PathUnescape(seg); err == nil && dec != seg {
					add(dec)
				}
			}
		}
		for name, values := range u.Query() {
			for _, v := range values {
				if keyLike(v) || (len(v) >= 4 && slices.Contains(keyParams, strings.ToLower(name))) {
					add(v)
					add(url.QueryEscape(v))
				}
			}
		}
		if u.User != nil {
			add(u.User.String())
			if name := u.User.Username(); keyLike(name) {
				add(name)
			}
			if pw, ok := u.User.Password(); ok && len(pw) >= 4 {
				add(pw)
			}
		}
	}
	// Longest first, so that a whole URL is replaced before its parts.
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// keyLike reports whether a URL part looks like a credential: long, or
// not a plain lower-case word.
func keyLike(s string) bool {
	if len(s) >= 16 {
		return true
	}
	if len(s) < 8 {
		return false
	}
	for _, r := range s {
		if !unicode.IsLower(r) {
			return true
		}
	}
	return false
}

// Redact returns s without any secret of the upstream's URLs (its http
// and WebSocket URL whole, their path, query and user info, and the key
// they carry). Every text an upstream sends that braid passes on or logs
// goes through it: providers echo the request URL in error messages.
func (u *Upstream) Redact(s string) string {
	for _, sec := range u.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, redactedMark)
		}
	}
	return s
}

// redactError strips the upstream's secrets from an error answer's
// message and data, in place. Data stays valid JSON: if taking a secret
// out of it broke its syntax, it becomes the redacted text as a string.
func (u *Upstream) redactError(e *jsonrpc.Error) {
	if e == nil || len(u.secrets) == 0 {
		return
	}
	e.Message = u.Redact(e.Message)
	if len(e.Data) == 0 {
		return
	}
	data := u.Redact(string(e.Data))
	if data == string(e.Data) {
		return
	}
	if json.Valid([]byte(data)) {
		e.Data = json.RawMessage(data)
		return
	}
	e.Data, _ = json.Marshal(data)
}

// redactedErr is an error whose text had the upstream's secrets taken out;
// it still unwraps to the original for errors.Is.
type redactedErr struct {
	msg string
	err error
}

func (e *redactedErr) Error() string { return e.msg }
func (e *redactedErr) Unwrap() error { return e.err }

// redactErr returns err with the upstream's secrets taken out of its text.
func (u *Upstream) redactErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := u.Redact(msg); red != msg {
		return &redactedErr{msg: red, err: err}
	}
	return err
}

var _ error = (*redactedErr)(nil)
