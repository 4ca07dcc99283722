package access

import (
	"net/http"
	"strings"
)

// Presented returns the API key a request carries: pathKey (the {key} of
// /{network}/{key}, or a /{key} for the first network), an Authorization
// header "Bearer KEY", or an X-Api-Key header; "" when it carries none.
// Two different keys in one request are refused. An Authorization header
// of another scheme (Basic, for a proxy in front) is not a key and is
// left alone.
func Presented(r *http.Request, pathKey string) (string, *Refusal) {
	var found string
	add := func(k string) bool {
		if k == "" {
			return true
		}
		if found != "" && found != k {
			return false
		}
		found = k
		return true
	}
	auth := strings.TrimSpace(r.Header.Get("Authorization"))
	bearer, _ := cutScheme(auth, "Bearer")
	if !add(pathKey) || !add(bearer) || !add(strings.TrimSpace(r.Header.Get("X-Api-Key"))) {
		return "", refuseTwoKeys
	}
	return found, nil
}

// cutScheme returns the credentials of an Authorization header of scheme
// (matched case-insensitively, RFC 9110 section 11.1).
func cutScheme(header, scheme string) (string, bool) {
	if len(header) <= len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) || header[len(scheme)] != ' ' {
		return "", false
	}
	return strings.TrimSpace(header[len(scheme)+1:]), true
}
