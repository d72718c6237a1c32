package stores_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/sealed"
	"github.com/glsync/terraform-provider-glsync/shared/stores"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

const token = "glpat-Zq8vR2mT4xYw9KpL3nB7"

func key(t *testing.T) *sealed.Key {
	k, err := sealed.ParseKey(sealed.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fileHolds reports whether the catalog's files hold s.
func fileHolds(t *testing.T, dir, s string) bool {
	for _, f := range []string{"catalog.db", "catalog.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(b, []byte(s)) {
			return true
		}
	}
	return false
}

func TestSecretsAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	raw, err := sqlitestore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// Written before sealing: plain text in the file.
	if err := raw.PutHookSecret(ctx, catalog.HookSecret{Scope: "group:1", HookID: 1, URL: "u", Secret: "old-plain-secret-1"}); err != nil {
		t.Fatal(err)
	}
	k1 := key(t)
	b := stores.Seal(raw, &sealed.Keys{Current: k1})
	if err := b.PutTokenMapping(ctx, "team-a", []byte(`{"token":"`+token+`"}`)); err != nil {
		t.Fatal(err)
	}
	if err := b.PutHookSecret(ctx, catalog.HookSecret{Scope: "group:2", HookID: 2, URL: "u", Secret: "hook-secret-two-2"}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Reseal(ctx); n != 1 || err != nil {
		t.Fatalf("reseal of the plain one: %d %v", n, err)
	}
	if _, err := raw.Maintain(ctx, catalog.Retention{}); err != nil { // checkpoint the WAL into the file
		t.Fatal(err)
	}
	for _, s := range []string{token, "hook-secret-two-2"} {
		if fileHolds(t, dir, s) {
			t.Fatalf("the catalog file holds %q in clear", s)
		}
	}
	// Read back through the wrapper.
	names, values, err := b.TokenMappings(ctx)
	if err != nil || len(names) != 1 || !strings.Contains(string(values[0]), token) {
		t.Fatalf("mappings %v %s %v", names, values, err)
	}
	for sc, want := range map[string]string{"group:1": "old-plain-secret-1", "group:2": "hook-secret-two-2"} {
		if h, ok, err := b.HookSecret(ctx, sc); !ok || err != nil || h.Secret != want {
			t.Fatalf("%s: %+v %v %v", sc, h, ok, err)
		}
	}
	// Without the key, or with another one, nothing opens.
	if _, _, err := stores.Seal(raw, nil).HookSecret(ctx, "group:2"); !errors.Is(err, sealed.ErrNoKey) {
		t.Fatalf("no key: %v", err)
	}
	other := stores.Seal(raw, &sealed.Keys{Current: key(t)})
	if _, _, err := other.HookSecret(ctx, "group:2"); err == nil || !strings.Contains(err.Error(), "GLSYNC_SECRET_KEY_PREVIOUS") {
		t.Fatalf("wrong key: %v", err)
	}
	// A sealed value moved to another row does not open.
	h2, _, _ := raw.HookSecret(ctx, "group:2")
	_ = raw.PutHookSecret(ctx, catalog.HookSecret{Scope: "group:3", Secret: h2.Secret})
	if _, _, err := b.HookSecret(ctx, "group:3"); err == nil {
		t.Fatal("a value copied to another row opened")
	}
	_ = raw.DeleteHookSecret(ctx, "group:3")
	// Rotation: the new key current, the old one previous; Reseal rewrites
	// everything under the new key, after which the old key is not needed.
	k2 := key(t)
	rotating := stores.Seal(raw, &sealed.Keys{Current: k2, Previous: []*sealed.Key{k1}})
	if n, err := rotating.Reseal(ctx); n != 3 || err != nil {
		t.Fatalf("rotation resealed %d, %v", n, err)
	}
	after := stores.Seal(raw, &sealed.Keys{Current: k2})
	if h, ok, err := after.HookSecret(ctx, "group:1"); !ok || err != nil || h.Secret != "old-plain-secret-1" {
		t.Fatalf("after rotation: %+v %v %v", h, ok, err)
	}
	if _, values, err := after.TokenMappings(ctx); err != nil || !strings.Contains(string(values[0]), token) {
		t.Fatalf("mappings after rotation: %v", err)
	}
	// webhookSecret's empty records stay empty.
	if err := after.PutHookSecret(ctx, catalog.HookSecret{Scope: "system", HookID: 9}); err != nil {
		t.Fatal(err)
	}
	if h, _, _ := raw.HookSecret(ctx, "system"); h.Secret != "" {
		t.Fatalf("an empty secret was sealed: %q", h.Secret)
	}
}
