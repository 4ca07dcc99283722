package beacon

import (
	"errors"
	"net/url"
	"sort"
	"strings"
)

// redacted replaces a secret in messages.
const redacted = "[redacted]"

// redactor removes one endpoint's secrets (URL path, query, userinfo and
// header values) from error text before it reaches a log, status or metric.
type redactor struct {
	secrets []string // longest first
}

func newRedactor(u *url.URL, headers map[string]string) redactor {
	var s []string
	add := func(v string) {
		if len(v) >= 4 {
			s = append(s, v, url.QueryEscape(v), url.PathEscape(v))
		}
	}
	add(u.String())
	if u.User != nil {
		add(u.User.String())
		add(u.User.Username())
		if p, ok := u.User.Password(); ok {
			add(p)
		}
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		add(u.Path)
		add(u.EscapedPath())
		for _, seg := range strings.Split(p, "/") {
			add(seg)
		}
	}
	if u.RawQuery != "" {
		add(u.RawQuery)
		for _, vs := range u.Query() {
			for _, v := range vs {
				add(v)
			}
		}
	}
	for _, v := range headers {
		add(v)
		for _, f := range strings.Fields(v) { // "Bearer TOKEN": the token alone too
			add(f)
		}
	}
	sort.Slice(s, func(i, j int) bool { return len(s[i]) > len(s[j]) })
	return redactor{secrets: s}
}

func (r redactor) clean(msg string) string {
	for _, s := range r.secrets {
		msg = strings.ReplaceAll(msg, s, redacted)
	}
	return msg
}

// describe renders an error for status and logs: a *url.Error loses its
// URL (the operation and cause stay), and any secret left is replaced.
func (r redactor) describe(err error) string {
	if err == nil {
		return ""
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return r.clean(err.Error())
}
