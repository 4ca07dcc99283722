package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads trusted_proxies: each entry is an IP address
// ("10.0.0.5", "::1") or a CIDR prefix ("10.0.0.0/8"). The error names
// every bad entry.
func ParseTrustedProxies(list []string) ([]netip.Prefix, []error) {
	var out []netip.Prefix
	var errs []error
	for i, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(s); err == nil {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		errs = append(errs, fmt.Errorf("trusted_proxies item %d %s is neither an IP address nor a CIDR prefix (e.g. \"10.0.0.5\" or \"10.0.0.0/8\")", i+1, quote(s)))
	}
	return out, errs
}

func validateProxies(list []string) []error {
	_, errs := ParseTrustedProxies(list)
	return errs
}

func (c *CORS) validate() []error {
	var errs []error
	for i, o := range c.Origins {
		if msg := checkOrigin(o); msg != "" {
			errs = append(errs, fmt.Errorf("cors: origins item %d %q %s", i+1, o, msg))
		}
	}
	if c.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("cors: max_age must not be negative (default %s)", DefaultCORSMaxAge))
	}
	return errs
}

// checkOrigin says what is wrong with an allowed origin, or "".
func checkOrigin(o string) string {
	if o == "*" {
		return ""
	}
	scheme, host, ok := strings.Cut(o, "://")
	switch {
	case strings.TrimSpace(o) == "":
		return `is empty: write an origin such as "https://app.example.com", or "*" for any`
	case !ok || scheme == "" || strings.ContainsAny(scheme, "*/:. "):
		return `must be an origin such as "https://app.example.com" (scheme, "://" and host)`
	case host == "" || strings.ContainsAny(host, "/?# \t"):
		return `must be scheme://host[:port] with no path (browsers send no trailing "/")`
	case strings.Count(o, "*") > 1:
		return `may hold at most one "*"`
	}
	return ""
}
