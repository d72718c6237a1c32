package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/catalog/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/config"
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
	r := runCLI(t, env, "catalog", "list")
	if r.code != 0 || !strings.HasSuffix(r.stdout, fmt.Sprintf("\n%d entities\n", len(all))) ||
		strings.Count(r.stdout, "\n") != len(all)+2 || !strings.Contains(r.stdout, all[len(all)-1].Identifier) {
		t.Fatalf("table: exit %d, %d lines for %d entities:\n%s", r.code, strings.Count(r.stdout, "\n"), len(all), r.stdout)
	}
	store.Close()
}
