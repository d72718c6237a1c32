package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

// TestCatalogListStreamsTheSameDocument: `catalog list --output json`
// writes, entity by entity, exactly the document it wrote when it encoded
// the whole listing at once, and the table lists every entity.
func TestCatalogListStreamsTheSameDocument(t *testing.T) {
	_, org, url := sim(t)
	dir := t.TempDir()
	env := map[string]string{
		config.EnvTokenMapping: `{"` + org.RootTokens[0] + `": ["**"], "` + org.RootTokens[1] + `": ["**"]}`,
		config.EnvGitLabHost:   url,
		envDataDir:             dir,
	}
	if r := runCLI(t, env, "resync"); r.code != 0 {
		t.Fatalf("resync: exit %d\n%s", r.code, r.stderr)
	}
	store, err := sqlitestore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	all, err := store.List(context.Background(), catalog.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, bp := range []string{"", "service", "gitlabGroup", "none"} {
		ents, err := store.List(context.Background(), catalog.Filter{Blueprint: bp})
		if err != nil {
			t.Fatal(err)
		}
		if ents == nil {
			ents = []*catalog.Entity{}
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(ents); err != nil {
			t.Fatal(err)
		}
		args := []string{"catalog", "list", "--output", "json"}
		if bp != "" {
			args = append(args, "--blueprint", bp)
		}
		r := runCLI(t, env, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		if r.stdout != want.String() {
			t.Fatalf("%v: the streamed document differs from the whole listing's:\n%s\nwant\n%s", args, r.stdout, want.String())
		}
		if bp == "" && len(ents) < 150 {
			t.Fatalf("only %d entities listed", len(ents))
		}
	}
	// The table, written in two passes over the catalog, is the one the
	// tabwriter aligned over the whole listing.
	for _, bp := range []string{"", "gitlabGroup", "none"} {
		ents, err := store.List(context.Background(), catalog.Filter{Blueprint: bp})
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		printTable(&want, ents)
		args := []string{"catalog", "list"}
		if bp != "" {
			args = append(args, "--blueprint", bp)
		}
		r := runCLI(t, env, args...)
		if r.code != 0 || r.stdout != want.String() {
			t.Fatalf("%v: exit %d:\n%s\nwant\n%s", args, r.code, r.stdout, want.String())
		}
		if bp == "" && (!strings.HasSuffix(r.stdout, fmt.Sprintf("\n%d entities\n", len(all))) || strings.Count(r.stdout, "\n") != len(all)+2) {
			t.Fatalf("table: %d lines for %d entities", strings.Count(r.stdout, "\n"), len(all))
		}
	}
	store.Close()
}

// TestStoreTableAlignsLikeTabwriter: wide and non-ASCII cells, relations
// set and unset.
func TestStoreTableAlignsLikeTabwriter(t *testing.T) {
	ctx := context.Background()
	store, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	run, _ := store.BeginRun(ctx)
	ents := []*catalog.Entity{
		{Blueprint: "service", Identifier: "acme/é/Ünïcode-Service", Title: "Ünïcode", Relations: map[string]any{"group": "1", "owner": nil}},
		{Blueprint: "gitlabGroup", Identifier: "1", Title: "a much longer title than the others", Relations: map[string]any{}},
		{Blueprint: "x", Identifier: "", Title: "", Relations: map[string]any{"b": "2", "a": 1.0}},
	}
	if _, err := store.Upsert(ctx, run, "project", ents); err != nil {
		t.Fatal(err)
	}
	for _, f := range []catalog.Filter{{}, {Blueprint: "none"}} {
		all, _ := store.List(ctx, f)
		var want, got bytes.Buffer
		printTable(&want, all)
		if err := printStoreTable(ctx, &got, store, f); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("filter %+v:\n%s\nwant\n%s", f, got.String(), want.String())
		}
	}
}
