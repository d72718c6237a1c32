package resync_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// portDocsMapByProperty is Port's documented "Map by property" mapping
// (shared/mapping/testdata), read with kind project, selecting the given
// projects and mapping one more property, so the write shows.
func portDocsMapByProperty(t *testing.T, selector string) *mapping.Config {
	t.Helper()
	doc, err := os.ReadFile("../mapping/testdata/port-docs-map-by-property.yml")
	if err != nil {
		t.Fatal(err)
	}
	y := strings.ReplaceAll(string(doc), "kind: services", "kind: project")
	y = strings.Replace(y, "query: 'true'", "query: '"+selector+"'", 1)
	y = strings.Replace(y, "          properties:\n", "          properties:\n            gitlab_url: .web_url\n", 1)
	m, err := mapping.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSearchIdentifierEmbeddedCatalog: with the embedded catalog, an
// identifier written as a search query (Port's "map by property") updates
// the one entity of its blueprint it matches, merged as Port merges; a
// query matching none creates nothing and one matching several writes
// nothing, each reported in the kind's expression errors with what it
// matched; no entity is ever written under the query itself, and the
// entities it updated are not deleted by later resyncs.
func TestSearchIdentifierEmbeddedCatalog(t *testing.T) {
	sim := gitlabtest.New(gitlabtest.Options{})
	g := sim.AddGroup(nil, "acme")
	one, several, none := sim.AddProject(g, "payments"), sim.AddProject(g, "billing"), sim.AddProject(g, "search")
	sim.AddToken(gitlabtest.Token{Value: groupTok, Kind: gitlabtest.GroupAccessToken, GroupID: g.ID})
	ts := sim.Start(t)
	st, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	run, err := st.BeginRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Services another integration wrote, with their PagerDuty ids.
	seed := []*catalog.Entity{
		{Blueprint: "service", Identifier: "payments-svc", Title: "Payments", Properties: map[string]any{"pagerduty_service_id": float64(one.ID), "tier": "gold"}, Relations: map[string]any{}},
		{Blueprint: "service", Identifier: "billing-a", Properties: map[string]any{"pagerduty_service_id": float64(several.ID)}, Relations: map[string]any{}},
		{Blueprint: "service", Identifier: "billing-b", Properties: map[string]any{"pagerduty_service_id": float64(several.ID)}, Relations: map[string]any{}},
		{Blueprint: "team", Identifier: "not-a-service", Properties: map[string]any{"pagerduty_service_id": float64(none.ID)}, Relations: map[string]any{}},
	}
	if _, err := st.Upsert(ctx, run, "seed", seed); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishRun(ctx, run, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{TokenMapping: tokenmap.Mapping{{Token: groupTok, Patterns: []string{"**"}}}, GitLabHost: ts.URL, MaxConcurrentRequests: 8, MaxRetries: 8}
	m := portDocsMapByProperty(t, "true")
	for pass := 1; pass <= 2; pass++ {
		logs := &syncBuffer{}
		sum, err := resync.Run(ctx, resync.Options{Config: cfg, Mapping: m, Store: st, Logger: slog.New(slog.NewTextHandler(logs, nil)),
			Client: gitlab.Options{RetryBase: time.Millisecond}})
		if err != nil || sum.Failed() {
			t.Fatalf("pass %d: %v %v", pass, err, sum.Err())
		}
		all := catalogByKey(t, st)
		if len(all) != len(seed) {
			t.Fatalf("pass %d: %d entities, want the %d seeded (nothing created, nothing deleted): %v", pass, len(all), len(seed), all)
		}
		p := all[catalog.Key{Blueprint: "service", Identifier: "payments-svc"}]
		if p.Properties["gitlab_url"] != ts.URL+"/acme/payments" || p.Properties["tier"] != "gold" || p.Title != "Payments" {
			t.Fatalf("pass %d: the matched service was not updated, merged: %+v", pass, p)
		}
		for _, b := range []string{"billing-a", "billing-b"} {
			if x := all[catalog.Key{Blueprint: "service", Identifier: b}]; x.Properties["gitlab_url"] != nil {
				t.Fatalf("pass %d: %s was written although the query matched two services", pass, b)
			}
		}
		k := kind(sum, "project")
		found := map[string]resync.ExpressionError{}
		for _, x := range k.ExpressionErrors {
			found[x.Field] = x
		}
		nx, sx := found["identifier (search matched none)"], found["identifier (search matched several)"]
		if nx.Objects != 1 || !nx.Skipped || !strings.Contains(nx.Error, "matched no service entity") ||
			sx.Objects != 1 || !strings.Contains(sx.Error, "matched 2 service entities (billing-a, billing-b)") {
			t.Fatalf("pass %d: expression errors %+v", pass, k.ExpressionErrors)
		}
		if !strings.Contains(logs.String(), "matched no service entity") || !strings.Contains(logs.String(), "must match exactly one") {
			t.Fatalf("pass %d: the log does not say what the queries matched:\n%s", pass, logs)
		}
	}
}
