package portsink_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
	"github.com/glsync/terraform-provider-glsync/shared/portsink"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
)

// TestSearchIdentifierSentToPort: with catalog port, an identifier
// written as a search query (Port's documented "map by property") goes to
// Port as the evaluated query on the create-entity route, as Ocean sends
// it; Port (the simulator, resolving as Port documents) updates the one
// service it matches, merged. A query matching none or several is Port's
// refusal of that entity: logged and counted, nothing created, the kind
// completes. The updated entity stays out of the mirror, so no later
// resync deletes it.
func TestSearchIdentifierSentToPort(t *testing.T) {
	e := setup(t)
	// Projects only one token sees, so each is written once per pass.
	var ps []gitlabtest.ProjectInfo
	for _, p := range e.gl.Projects() {
		if len(p.SharedWith) == 0 {
			ps = append(ps, p)
		}
	}
	one, several, none := ps[0], ps[1], ps[2]
	e.port.AddBlueprint("service")
	for _, s := range []porttest.Entity{
		{Blueprint: "service", Identifier: "payments-svc", Title: "Payments", Properties: map[string]any{"pagerduty_service_id": float64(one.ID), "tier": "gold"}},
		{Blueprint: "service", Identifier: "billing-a", Properties: map[string]any{"pagerduty_service_id": float64(several.ID)}},
		{Blueprint: "service", Identifier: "billing-b", Properties: map[string]any{"pagerduty_service_id": float64(several.ID)}},
	} {
		e.port.AddEntity(s)
	}
	doc, err := os.ReadFile("../mapping/testdata/port-docs-map-by-property.yml")
	if err != nil {
		t.Fatal(err)
	}
	y := strings.ReplaceAll(string(doc), "kind: services", "kind: project")
	y = strings.Replace(y, "query: 'true'", fmt.Sprintf("query: '.id == %d or .id == %d or .id == %d'", one.ID, several.ID, none.ID), 1)
	y = strings.Replace(y, "          properties:\n", "          properties:\n            gitlab_url: .web_url\n", 1)
	mp := filepath.Join(t.TempDir(), "mapping.yml")
	if err := os.WriteFile(mp, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	sink, m, err := portsink.SetupWith(context.Background(), e.cfg, e.client, e.mirror, mp, e.log)
	if err != nil {
		t.Fatal(err)
	}
	for pass := 1; pass <= 2; pass++ {
		before := sink.Refused.Load()
		sum, err := resync.Run(context.Background(), resync.Options{Config: e.cfg, Mapping: m, Store: sink, Logger: e.log,
			Client: gitlab.Options{RetryBase: time.Millisecond}})
		if err != nil || sum.Failed() {
			t.Fatalf("pass %d: %v %v", pass, err, sum.Err())
		}
		services := e.portIDs("service")
		if len(services) != 3 {
			t.Fatalf("pass %d: %d services in Port, want the 3 there before (none created, none deleted)", pass, len(services))
		}
		p := services["payments-svc"]
		if p.Properties["gitlab_url"] == nil || p.Properties["tier"] != "gold" || p.Title != "Payments" {
			t.Fatalf("pass %d: Port's matched service was not updated, merged: %+v", pass, p)
		}
		if services["billing-a"].Properties["gitlab_url"] != nil || services["billing-b"].Properties["gitlab_url"] != nil {
			t.Fatalf("pass %d: a query matching two services wrote one", pass)
		}
		if n := sink.Refused.Load() - before; n != 2 {
			t.Fatalf("pass %d: %d entities refused, want 2 (none, several)", pass, n)
		}
		if k := kind(sum, "project"); k.Updated != 1 || k.Deleted != 0 {
			t.Fatalf("pass %d: %+v", pass, k)
		}
	}
	if n := strings.Count(e.logs.String(), "Port refused an entity whose identifier is a search query"); n != 4 {
		t.Fatalf("%d refusal log lines, want 4:\n%s", n, e.logs)
	}
	if counts, _ := e.port.Requests(); counts["POST /v1/blueprints/:b/entities"] != 6 {
		t.Fatalf("want the 3 search identifiers sent on the create-entity route each pass: %v", counts)
	}
}
