package whsig

import (
	"strings"
	"testing"
	"time"
)

// FuzzVerify: whatever the headers and body, Verify never panics, and it
// accepts exactly when one v1 entry is the signature of that id, timestamp
// and body.
func FuzzVerify(f *testing.F) {
	f.Add("msg_1", "1765098000", "v1,abc", []byte(`{}`))
	f.Add("msg_1", "1765098000", "v1,a v1,b v2,c ,,,", []byte(`{"a":1}`))
	f.Add("", "-1", "v1,", []byte{})
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1765098000, 0)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		err := Verify([][]byte{key}, id, ts, sig, body, now)
		if err == nil && id != "" && ts == "1765098000" {
			want := Sign(key, id, 1765098000, body)
			found := false
			for _, e := range strings.Fields(sig) {
				found = found || e == want
			}
			if !found {
				t.Fatalf("accepted %q for id %q without its signature %q", sig, id, want)
			}
		}
		good := Sign(key, id, 1765098000, body)
		if id != "" && Verify([][]byte{key}, id, "1765098000", good, body, now) != nil {
			t.Fatal("its own signature refused")
		}
	})
}
