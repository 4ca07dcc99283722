package config

import "net/url"

// Redact returns the form of an upstream URL that braid shows in logs,
// errors and status pages: scheme://host[:port], followed by "/…" when the
// URL had anything after the host (path, query, fragment or user info),
// which is where API keys live. User info is never shown.
//
//	https://mainnet.infura.io/v3/KEY → https://mainnet.infura.io/…
//	http://127.0.0.1:8545           → http://127.0.0.1:8545
//
// A URL that does not parse or has no scheme or host gives "(invalid url)";
// the empty string gives "".
func Redact(rawURL string) string {
	if rawURL == "" {
		return ""
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "(invalid url)"
	}
	out := u.Scheme + "://" + u.Host
	hidden := u.User != nil || (u.Path != "" && u.Path != "/") || u.RawPath != "" ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.RawFragment != ""
	if hidden {
		out += "/…"
	}
	return out
}
