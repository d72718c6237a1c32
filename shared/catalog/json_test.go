package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

// listJSON is what `glsyncd catalog list --output json` wrote before it
// streamed: the whole List encoded at once.
func listJSON(t *testing.T, s catalog.Store, f catalog.Filter) []byte {
	t.Helper()
	ents, err := s.List(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if ents == nil {
		ents = []*catalog.Entity{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ents); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteJSONIsTheWholeListingsDocument(t *testing.T) {
	ctx := context.Background()
	s, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(f catalog.Filter, wantN int) {
		t.Helper()
		var got bytes.Buffer
		if err := catalog.WriteJSON(ctx, &got, s, f); err != nil {
			t.Fatal(err)
		}
		want := listJSON(t, s, f)
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("filter %+v: streamed\n%s\nwant\n%s", f, got.Bytes(), want)
		}
		var back []map[string]any
		if err := json.Unmarshal(got.Bytes(), &back); err != nil || len(back) != wantN {
			t.Fatalf("filter %+v: %d entities decoded back, %v; want %d", f, len(back), err, wantN)
		}
	}
	check(catalog.Filter{}, 0) // an empty catalog is [], not null

	run, err := s.BeginRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Values an encoder treats specially: HTML characters (escaped),
	// non-ASCII, U+2028, nested arrays and objects, nulls, empty maps,
	// numbers, an omitted team and icon next to set ones.
	ents := []*catalog.Entity{
		{Blueprint: "service", Identifier: "acme/a&b", Title: "<Payment> & co", Team: "core", Icon: "GitLab",
			Properties: map[string]any{"url": "https://x/acme/a?b=1&c=2", "topics": []any{"go", "é"}, "n": 3.25, "archived": false, "nested": map[string]any{"k": []any{map[string]any{}, nil}}},
			Relations:  map[string]any{"group": "12", "owner": nil}},
		{Blueprint: "service", Identifier: "acme/z", Title: "line\u2028sep\ttab\"quote\"",
			Properties: map[string]any{}, Relations: map[string]any{}},
		{Blueprint: "gitlabGroup", Identifier: "12", Title: "Acme",
			Properties: map[string]any{"fullPath": "acme"}, Relations: map[string]any{"parentGroup": nil}},
	}
	for i := range 250 {
		ents = append(ents, &catalog.Entity{Blueprint: "gitlabIssue", Identifier: fmt.Sprintf("%04d", i), Title: "issue",
			Properties: map[string]any{"labels": []any{"bug"}, "iid": float64(i)}, Relations: map[string]any{"service": "acme/z"}})
	}
	if _, err := s.Upsert(ctx, run, "project", ents); err != nil {
		t.Fatal(err)
	}
	check(catalog.Filter{}, len(ents))
	check(catalog.Filter{Blueprint: "service"}, 2)
	check(catalog.Filter{Blueprint: "gitlabGroup"}, 1)
	check(catalog.Filter{Blueprint: "nothing"}, 0)
}

// failingWriter takes n bytes, then fails.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteJSONReportsAWriteError(t *testing.T) {
	ctx := context.Background()
	s, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run, _ := s.BeginRun(ctx)
	var ents []*catalog.Entity
	for i := range 2000 {
		ents = append(ents, &catalog.Entity{Blueprint: "service", Identifier: fmt.Sprintf("p%05d", i), Title: "a title long enough to fill the buffer",
			Properties: map[string]any{"description": "some words about the project"}, Relations: map[string]any{}})
	}
	if _, err := s.Upsert(ctx, run, "project", ents); err != nil {
		t.Fatal(err)
	}
	// The listing is several buffers long: it fails at the first flush,
	// then at a later one.
	for _, n := range []int{0, 100 << 10} {
		err := catalog.WriteJSON(ctx, &failingWriter{n: n}, s, catalog.Filter{})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("writer failing after %d bytes: %v; want the write error", n, err)
		}
		// The store's cursor was released.
		if _, err := s.CountEntities(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
