package port_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/port"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
)

const id, secret = "client-id-123", "client-secret-very-private"

func setup(t *testing.T) (*porttest.Server, *port.Client) {
	t.Helper()
	s := porttest.New(id, secret)
	ts := s.Start(t)
	c, err := port.New(port.Options{BaseURL: ts.URL, ClientID: id, ClientSecret: secret, Integration: "my-gitlab",
		RetryWaitMin: time.Millisecond, RetryWaitMax: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.AddBlueprint("service")
	return s, c
}

func ents(n int) []port.Entity {
	var out []port.Entity
	for i := 0; i < n; i++ {
		out = append(out, port.Entity{Identifier: fmt.Sprintf("svc-%03d", i), Title: "S", Properties: map[string]any{"url": "http://x"}, Relations: map[string]any{}})
	}
	return out
}

func TestBulkSplitsAndReportsRefusedEntities(t *testing.T) {
	s, c := setup(t)
	s.SetFaults(porttest.Faults{Reject: map[string]bool{"svc-007": true}})
	refused, err := c.BulkUpsert(context.Background(), "service", ents(45), port.UpsertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 1 || refused[0].Identifier != "svc-007" || refused[0].Status != 422 {
		t.Fatalf("refused %+v", refused)
	}
	if n := len(s.Entities()); n != 44 {
		t.Fatalf("stored %d", n)
	}
	counts, tokens := s.Requests()
	if counts["POST /v1/blueprints/:b/entities/bulk"] != 3 || tokens != 1 {
		t.Fatalf("requests %v, tokens %d: want 3 bulk requests and one token", counts, tokens)
	}
	// Owned by this integration through $datasource.
	owned, err := c.Owned(context.Background(), time.Time{})
	if err != nil || len(owned) != 44 {
		t.Fatalf("owned %d %v", len(owned), err)
	}
	s.AddEntity(porttest.Entity{Blueprint: "service", Identifier: "someone-else", Datasource: "port-ocean/github/x/exporter"})
	if owned, _ = c.Owned(context.Background(), time.Time{}); len(owned) != 44 {
		t.Fatalf("another integration's entity counted as ours: %d", len(owned))
	}
}

// TestOwnedSpansOceanVersions: entities the Ocean GitLab integrations
// (v1 "gitlab", v2 "gitlab-v2", any version) wrote for this integration
// identifier are this integration's; another identifier's, another
// integration type's and ones written after "before" are not. The listing
// pages, and bulk delete removes them 100 at a time.
func TestOwnedSpansOceanVersions(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	id := c.Integration()
	for i, ds := range []string{
		"port-ocean/gitlab/0.1.52/" + id + "/exporter",
		"port-ocean/gitlab-v2/0.9.30/" + id + "/exporter",
		"port-ocean/gitlab-v2/0.3.1/" + id + "/exporter",
	} {
		n := 2100
		if i > 0 {
			n = 2600 // gitlab-v2: 5200 entities, two pages of 5000
		}
		for j := 0; j < n; j++ {
			s.AddEntity(porttest.Entity{Blueprint: "service", Identifier: fmt.Sprintf("ocean-%d-%04d", i, j), Datasource: ds})
		}
	}
	for _, ds := range []string{"port-ocean/gitlab/0.1.52/other-" + id + "/exporter", "port-ocean/github/1.0/" + id + "/exporter", "port-ocean/gitlab/0.1.52/" + id + "/gitops"} {
		s.AddEntity(porttest.Entity{Blueprint: "service", Identifier: "not-ours-" + ds, Datasource: ds})
	}
	cut := time.Now()
	if err := c.Upsert(ctx, "service", port.Entity{Identifier: "written-later", Properties: map[string]any{}}, port.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	owned, err := c.Owned(ctx, cut)
	if err != nil || len(owned) != 7300 {
		t.Fatalf("owned %d (want 7300) %v", len(owned), err)
	}
	if all, _ := c.Owned(ctx, time.Time{}); len(all) != 7301 {
		t.Fatalf("without before: %d, want 7301", len(all))
	}
	// EachOwned hands the same entities over a page at a time (gitlab-v2's
	// 5200 take two) and stops at the callback's error.
	pages, n := 0, 0
	if err := c.EachOwned(ctx, cut, func(page []port.Entity) error {
		pages++
		n += len(page)
		if len(page) > 5000 {
			t.Fatalf("a page of %d entities, more than Port's 5000", len(page))
		}
		return nil
	}); err != nil || n != 7300 || pages != 3 {
		t.Fatalf("EachOwned: %d entities in %d pages, %v; want 7300 in 3", n, pages, err)
	}
	stop := errors.New("stop")
	pages = 0
	if err := c.EachOwned(ctx, cut, func([]port.Entity) error { pages++; return stop }); !errors.Is(err, stop) || pages != 1 {
		t.Fatalf("EachOwned after the callback failed: %d pages, %v", pages, err)
	}
	if !strings.HasPrefix(c.UserAgent(), "port-ocean/gitlab/") || !strings.HasSuffix(c.UserAgent(), "/"+id+"/exporter") || strings.Count(c.UserAgent(), "/") != 4 {
		t.Fatalf("user agent %q is not Ocean's port-ocean/<type>/<version>/<identifier>/exporter", c.UserAgent())
	}
	var ids []string
	for _, e := range owned[:250] {
		ids = append(ids, e.Identifier)
	}
	ids = append(ids, "never-there")
	deleted, err := c.BulkDelete(ctx, "service", ids, true)
	if err != nil || len(deleted) != 250 {
		t.Fatalf("bulk delete: %d %v", len(deleted), err)
	}
	counts, _ := s.Requests()
	if n := counts["POST /v1/blueprints/:b/datasource-entities"]; n != 3*(1+2)+1 {
		t.Fatalf("%d datasource listings, want 3 per whole listing (gitlab: 1 page, gitlab-v2: 2 pages), of which there were 3, and 1 for the one stopped at its first page", n)
	}
	if n := counts["POST /v1/blueprints/:b/bulk/entities/delete"]; n != 3 {
		t.Fatalf("%d bulk delete requests for 251 identifiers, want 3", n)
	}
}

func TestTokenRefreshAndRetries(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	if err := c.Upsert(ctx, "service", ents(1)[0], port.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	s.ExpireTokens()
	if err := c.Upsert(ctx, "service", ents(2)[1], port.UpsertOptions{}); err != nil {
		t.Fatalf("after token expiry: %v", err)
	}
	if _, tokens := s.Requests(); tokens != 2 {
		t.Fatalf("tokens issued %d, want a refresh", tokens)
	}
	s.SetFaults(porttest.Faults{TooManyRate: 0.1, ErrorRate: 0.3})
	if _, err := c.BulkUpsert(ctx, "service", ents(200), port.UpsertOptions{}); err != nil {
		t.Fatalf("under 429/5xx: %v", err)
	}
	if c.Stats.Retries.Load() == 0 {
		t.Fatal("expected retries")
	}
}

func TestErrorsNeverCarrySecrets(t *testing.T) {
	s := porttest.New(id, secret)
	ts := s.Start(t)
	c, _ := port.New(port.Options{BaseURL: ts.URL, ClientID: id, ClientSecret: "wrong-secret-value", RetryWaitMin: time.Millisecond, RetryWaitMax: time.Millisecond})
	err := c.Upsert(context.Background(), "service", ents(1)[0], port.UpsertOptions{})
	var ae *port.APIError
	if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(err.Error(), "check portClientId and portClientSecret") {
		t.Fatalf("bad credentials: %v", err)
	}
	if strings.Contains(err.Error(), "wrong-secret-value") {
		t.Fatal("the secret leaks")
	}
	_, c2 := setup(t)
	err = c2.Upsert(context.Background(), "nope", ents(1)[0], port.UpsertOptions{})
	if !errors.As(err, &ae) || ae.Status != 404 || !strings.Contains(err.Error(), `Blueprint with identifier "nope" was not found`) {
		t.Fatalf("unknown blueprint: %v", err)
	}
}

func TestBlueprintsIntegrationExamples(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	created, err := c.EnsureBlueprint(ctx, map[string]any{"identifier": "service", "title": "Mine"})
	if err != nil || created {
		t.Fatalf("an existing blueprint must be left alone: %v %v", created, err)
	}
	if created, err = c.EnsureBlueprint(ctx, map[string]any{"identifier": "gitlabGroup", "title": "Group"}); err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if err := c.RegisterIntegration(ctx, map[string]any{"resources": []any{}}); err != nil {
		t.Fatal(err)
	}
	if err := c.RegisterIntegration(ctx, map[string]any{"resources": []any{map[string]any{"kind": "project"}}}); err != nil {
		t.Fatal(err)
	}
	in, found, err := c.GetIntegration(ctx)
	if err != nil || !found || len(in.Config["resources"].([]any)) != 1 {
		t.Fatalf("integration %+v %v %v", in, found, err)
	}
	if err := c.SendExamples(ctx, "project", []map[string]any{{"id": 1}}); err != nil || len(s.Examples("project")) != 1 {
		t.Fatalf("examples: %v", err)
	}
}

func TestMergeOrReplace(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	s.AddEntity(porttest.Entity{Blueprint: "service", Identifier: "svc-000", Properties: map[string]any{"owner": "set in Port"}, Relations: map[string]any{}})
	if _, err := c.BulkUpsert(ctx, "service", ents(1), port.UpsertOptions{}); err != nil {
		t.Fatal(err)
	}
	if s.Entities()[0].Properties["owner"] != "set in Port" {
		t.Fatal("merge must keep properties the write does not set")
	}
	if _, err := c.BulkUpsert(ctx, "service", ents(1), port.UpsertOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	if _, kept := s.Entities()[0].Properties["owner"]; kept {
		t.Fatal("replace (enableMergeEntity: false) must drop them")
	}
}
