package sealed_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/sealed"
)

func key(t *testing.T) *sealed.Key {
	k, err := sealed.ParseKey(sealed.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A sealed value opens for its row under the key that sealed it (current
// or previous), and nowhere else.
func TestSealOpen(t *testing.T) {
	k1, k2 := key(t), key(t)
	keys := &sealed.Keys{Current: k1}
	v, err := keys.Seal("hook:group:1", []byte("s3cret"))
	if err != nil || !strings.HasPrefix(v, "gls1.") || strings.Contains(v, "s3cret") {
		t.Fatalf("sealed %q, %v", v, err)
	}
	if plain, current, err := keys.Open("hook:group:1", v); err != nil || !current || string(plain) != "s3cret" {
		t.Fatalf("open: %q %v %v", plain, current, err)
	}
	if _, _, err := keys.Open("hook:group:2", v); err == nil {
		t.Fatal("a value opened for another row")
	}
	rotating := &sealed.Keys{Current: k2, Previous: []*sealed.Key{k1}}
	if plain, current, err := rotating.Open("hook:group:1", v); err != nil || current || string(plain) != "s3cret" {
		t.Fatalf("open under a previous key: %q %v %v", plain, current, err)
	}
	if _, _, err := (&sealed.Keys{Current: k2}).Open("hook:group:1", v); err == nil || !strings.Contains(err.Error(), "GLSYNC_SECRET_KEY_PREVIOUS") {
		t.Fatalf("another key: %v", err)
	}
	if plain, current, err := keys.Open("x", "written before sealing"); err != nil || current || string(plain) != "written before sealing" {
		t.Fatalf("a plain value: %q %v %v", plain, current, err)
	}
	var none *sealed.Keys
	if _, err := none.Seal("x", []byte("y")); !errors.Is(err, sealed.ErrNoKey) {
		t.Fatalf("seal without a key: %v", err)
	}
	if _, _, err := none.Open("x", v); !errors.Is(err, sealed.ErrNoKey) {
		t.Fatalf("open without a key: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	for _, bad := range []string{"", "short", strings.Repeat("a", 31)} {
		if _, err := sealed.ParseKey(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := sealed.ParseKey(strings.Repeat("long passphrase ", 3)); err != nil {
		t.Fatal(err)
	}
}
