package upstream

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/braidrpc/braid/internal/config"
)

func TestWebSocketErrorsHideTheURL(t *testing.T) {
	u := New(config.Upstream{Name: "w0", Operator: "op", URL: "http://127.0.0.1:1", WSURL: "wss://example.invalid/ws/SECRETKEY"}, Options{})
	t.Cleanup(u.Close)
	for _, err := range []error{
		fmt.Errorf("failed to WebSocket dial: %w", &url.Error{Op: "Get", URL: "https://example.invalid/ws/SECRETKEY", Err: errors.New("connection refused")}),
		fmt.Errorf("dial %s: refused", u.WSURL),
	} {
		if got := u.RedactWSError(err); strings.Contains(got, "SECRETKEY") {
			t.Errorf("RedactWSError = %q", got)
		}
	}
}
