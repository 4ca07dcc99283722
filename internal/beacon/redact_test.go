package beacon

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestRedactorRemovesSecrets(t *testing.T) {
	u, _ := url.Parse("https://bob:pa55word@node.example:5052/v2/KEY123456?apikey=QKEY9876&x=1")
	r := newRedactor(u, map[string]string{"Authorization": "Bearer TOKEN-abcdef"})
	msg := `Get "https://bob:pa55word@node.example:5052/v2/KEY123456/eth/v1/events?apikey=QKEY9876": EOF; token TOKEN-abcdef; path /v2/KEY123456; escaped apikey%3DQKEY9876`
	got := r.clean(msg)
	for _, s := range []string{"pa55word", "KEY123456", "QKEY9876", "TOKEN-abcdef", "bob:"} {
		if strings.Contains(got, s) {
			t.Errorf("%q survives in %q", s, got)
		}
	}
	if !strings.Contains(got, "node.example:5052") {
		t.Errorf("the host was lost: %q", got)
	}
	ue := &url.Error{Op: "Get", URL: u.String(), Err: errors.New("dial tcp: refused")}
	if got := r.describe(ue); got != "dial tcp: refused" {
		t.Errorf("describe(url.Error) = %q", got)
	}
}
