package access

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzPresented: whatever a client puts in the path and headers, reading
// its key never panics, and the key found is one the request carries.
func FuzzPresented(f *testing.F) {
	f.Add("", "", "")
	f.Add("bk_abc", "Bearer bk_abc", "bk_abc")
	f.Add("", "bearer   x ", "")
	f.Add("", "Basic dXNlcjpwYXNz", "k")
	f.Add("a", "Bearer", "b")
	f.Add("", "Bearer\tk", "")
	f.Fuzz(func(t *testing.T, path, auth, header string) {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header["Authorization"] = []string{auth}
		r.Header["X-Api-Key"] = []string{header}
		key, ref := Presented(r, path)
		if ref != nil {
			if key != "" || ref.Status != 401 {
				t.Fatalf("refused with key %q, status %d", key, ref.Status)
			}
			return
		}
		if key != "" && key != path && !strings.Contains(header, key) && !strings.Contains(auth, key) {
			t.Fatalf("key %q is none of the request's", key)
		}
		_ = LooksLikeKey(path)
	})
}
