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
	owned, err := c.Owned(context.Background())
	if err != nil || len(owned) != 44 {
		t.Fatalf("owned %d %v", len(owned), err)
	}
	s.AddEntity(porttest.Entity{Blueprint: "service", Identifier: "someone-else", Datasource: "port-ocean/github/x/exporter"})
	if owned, _ = c.Owned(context.Background()); len(owned) != 44 {
		t.Fatalf("another integration's entity counted as ours: %d", len(owned))
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
