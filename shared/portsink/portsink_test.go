package portsink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/port"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
	"github.com/glsync/terraform-provider-glsync/shared/portsink"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

const clientID, clientSecret = "port-client-id", "port-client-secret-do-not-print"

type logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *logs) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

type env struct {
	gl     *gitlabtest.Server
	org    gitlabtest.Org
	port   *porttest.Server
	cfg    *config.Config
	mirror *sqlitestore.Store
	sink   *portsink.Sink
	log    *slog.Logger
	logs   *logs
	client *port.Client
}

func setup(t *testing.T) *env {
	t.Helper()
	gl := gitlabtest.New(gitlabtest.Options{Seed: 6})
	org := gl.Generate(gitlabtest.OrgSpec{Roots: 2, Projects: 150, Depth: 3, Seed: 6})
	glts := gl.Start(t)
	ps := porttest.New(clientID, clientSecret)
	pts := ps.Start(t)
	mirror, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mirror.Close() })
	cfg := &config.Config{
		TokenMapping: tokenmap.Mapping{{Token: org.RootTokens[0], Patterns: []string{"**"}}, {Token: org.RootTokens[1], Patterns: []string{"**"}}},
		GitLabHost:   glts.URL, MaxConcurrentRequests: 8, MaxRetries: 8, Catalog: "port",
		PortClientID: clientID, PortClientSecret: clientSecret, PortBaseURL: pts.URL, IntegrationIdentifier: "my-gitlab",
		SendRawDataExamples: true, DeletionThreshold: 0.5,
	}
	lg := &logs{}
	log := slog.New(slog.NewTextHandler(lg, nil))
	client, err := port.New(port.Options{BaseURL: pts.URL, ClientID: clientID, ClientSecret: clientSecret, Integration: "my-gitlab",
		RetryWaitMin: time.Millisecond, RetryWaitMax: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{gl: gl, org: org, port: ps, cfg: cfg, mirror: mirror, log: log, logs: lg, client: client}
	t.Cleanup(func() {
		for _, s := range []string{clientSecret, org.RootTokens[0], org.RootTokens[1]} {
			if strings.Contains(lg.String(), s) {
				t.Error("a secret appears in the logs")
			}
		}
	})
	return e
}

func (e *env) resync(t *testing.T) *resync.Summary {
	t.Helper()
	sink, m, err := portsink.SetupWith(context.Background(), e.cfg, e.client, e.mirror, "", e.log)
	if err != nil {
		t.Fatal(err)
	}
	e.sink = sink
	sum, err := resync.Run(context.Background(), resync.Options{Config: e.cfg, Mapping: m, Store: sink, Logger: e.log,
		Client: gitlab.Options{RetryBase: time.Millisecond}, Examples: sink.Examples})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func (e *env) portIDs(bp string) map[string]porttest.Entity {
	out := map[string]porttest.Entity{}
	for _, x := range e.port.Entities() {
		if x.Blueprint == bp {
			out[x.Identifier] = x
		}
	}
	return out
}

func kind(s *resync.Summary, k string) *resync.KindSummary {
	for _, x := range s.Kinds {
		if x.Kind == k {
			return x
		}
	}
	return nil
}

func TestResyncIntoPort(t *testing.T) {
	e := setup(t)
	sum := e.resync(t)
	if err := sum.Err(); err != nil {
		t.Fatal(err)
	}
	services := e.portIDs("service")
	if len(services) != kind(sum, "project").Created || len(services) < 100 {
		t.Fatalf("%d services in Port, %d created", len(services), kind(sum, "project").Created)
	}
	for _, p := range e.gl.Projects() {
		s, ok := services[p.PathWithNamespace]
		if !ok {
			t.Fatalf("%s missing in Port", p.PathWithNamespace)
		}
		if s.Relations["group"] == nil || s.Properties["url"] == nil {
			t.Fatalf("entity shape %+v", s)
		}
	}
	if len(e.port.Blueprints()) < 4 || e.port.Integration()["installationAppType"] != "gitlab" || len(e.port.Examples("project")) == 0 {
		t.Fatalf("blueprints %v, integration %v, examples %d", e.port.Blueprints(), e.port.Integration(), len(e.port.Examples("project")))
	}
	counts, _ := e.port.Requests()
	if single := counts["POST /v1/blueprints/:b/entities"]; single != 0 {
		t.Fatalf("%d single-entity writes; entities go in bulk", single)
	}
	// A second resync with nothing changed writes nothing to Port.
	e.port.ResetRequests()
	sum = e.resync(t)
	counts, _ = e.port.Requests()
	if sum.Failed() || counts["POST /v1/blueprints/:b/entities/bulk"] != 0 {
		t.Fatalf("unchanged resync wrote to Port: %v %v", counts, sum.Err())
	}
}

func TestStaleDeletionAndGuard(t *testing.T) {
	e := setup(t)
	if err := e.resync(t).Err(); err != nil {
		t.Fatal(err)
	}
	ps := e.gl.Projects()
	removed := []string{ps[0].PathWithNamespace, ps[1].PathWithNamespace}
	e.gl.RemoveProject(ps[0].ID)
	e.gl.RemoveProject(ps[1].ID)
	sum := e.resync(t)
	if err := sum.Err(); err != nil || kind(sum, "project").Deleted != 2 {
		t.Fatalf("deleted %d, err %v", kind(sum, "project").Deleted, err)
	}
	for _, r := range removed {
		if _, ok := e.portIDs("service")[r]; ok {
			t.Fatalf("%s still in Port", r)
		}
	}
	// GitLab "loses" most projects: the guard refuses and deletes nothing.
	before := len(e.portIDs("service"))
	for i, p := range e.gl.Projects() {
		if i%4 != 0 {
			e.gl.RemoveProject(p.ID)
		}
	}
	sum = e.resync(t)
	var ge *portsink.GuardError
	if !sum.Failed() || !errors.As(sum.Err(), &ge) || !strings.Contains(sum.Err().Error(), "set forceDeletion") {
		t.Fatalf("guard: %v", sum.Err())
	}
	if len(e.portIDs("service")) != before {
		t.Fatal("the guard let deletions through")
	}
	e.cfg.ForceDeletion = true
	sum = e.resync(t)
	if err := sum.Err(); err != nil || len(e.portIDs("service")) >= before {
		t.Fatalf("forced: %v (%d left of %d)", err, len(e.portIDs("service")), before)
	}
}

func TestRefusedEntityTokenRefreshAndFaults(t *testing.T) {
	e := setup(t)
	victim := e.gl.Projects()[3].PathWithNamespace
	e.port.SetFaults(porttest.Faults{Reject: map[string]bool{victim: true}, ErrorRate: 0.1, TooManyRate: 0.02})
	e.port.TokenTTL = 2 * time.Second // refreshed a minute before expiry: every call
	sum := e.resync(t)
	if err := sum.Err(); err != nil {
		t.Fatalf("a refused entity must not fail the resync: %v", err)
	}
	if e.sink.Refused.Load() != 1 || !strings.Contains(e.logs.String(), victim) {
		t.Fatalf("refused %d; the identifier must be logged", e.sink.Refused.Load())
	}
	if _, tokens := e.port.Requests(); tokens < 2 {
		t.Fatalf("tokens issued %d: expected refreshes", tokens)
	}
	// Accepted later: the refused entity is sent again.
	e.port.SetFaults(porttest.Faults{})
	e.port.TokenTTL = time.Hour
	if err := e.resync(t).Err(); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.portIDs("service")[victim]; !ok {
		t.Fatal("the refused entity was not retried")
	}
}

func TestOrphansOwnedByUsAreDeletedOthersKept(t *testing.T) {
	e := setup(t)
	e.port.AddBlueprint("service")
	e.port.AddEntity(porttest.Entity{Blueprint: "service", Identifier: "old/GoneService", Datasource: e.client.UserAgent()})
	e.port.AddEntity(porttest.Entity{Blueprint: "service", Identifier: "github/Other", Datasource: "port-ocean/github/gh/exporter"})
	if err := e.resync(t).Err(); err != nil {
		t.Fatal(err)
	}
	got := e.portIDs("service")
	if _, ok := got["old/GoneService"]; ok {
		t.Fatal("an entity this integration owned and GitLab no longer has was kept")
	}
	if _, ok := got["github/Other"]; !ok {
		t.Fatal("another integration's entity was deleted")
	}
}

// TestSwitchOverFromOcean: a user of Ocean's gitlab-v2 integration points
// glsync at the same Port integration identifier with Ocean's default
// mapping. The blueprints glsync creates are Ocean's; entities Ocean wrote
// (any version) that GitLab still has are kept and rewritten, stale ones
// are deleted with Port's bulk delete, and other integrations' entities
// are left alone.
func TestSwitchOverFromOcean(t *testing.T) {
	e := setup(t)
	e.cfg.OceanVersion = mapping.OceanV2
	file := filepath.Join(t.TempDir(), "port-app-config.yml")
	if err := os.WriteFile(file, mapping.OceanDefault(mapping.OceanV2), 0o600); err != nil {
		t.Fatal(err)
	}
	client, err := port.New(port.Options{BaseURL: e.client.BaseURL(), ClientID: clientID, ClientSecret: clientSecret, Integration: "my-gitlab",
		Type: portsink.IntegrationType(mapping.OceanV2), Version: "1.2.3", RetryWaitMin: time.Millisecond, RetryWaitMax: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	live := ""
	for _, p := range e.gl.Projects() {
		if len(p.SharedWith) == 0 {
			live = p.PathWithNamespace
			break
		}
	}
	oceanDS := "port-ocean/gitlab-v2/0.9.30/my-gitlab/exporter"
	e.port.AddEntity(porttest.Entity{Blueprint: "service", Identifier: live, Datasource: oceanDS, Properties: map[string]any{}})
	e.port.AddEntity(porttest.Entity{Blueprint: "service", Identifier: "acme/Decommissioned", Datasource: oceanDS, Properties: map[string]any{}})
	e.port.AddEntity(porttest.Entity{Blueprint: "gitlabMergeRequest", Identifier: "1", Datasource: "port-ocean/gitlab/0.1.40/my-gitlab/exporter", Properties: map[string]any{}})
	e.port.AddEntity(porttest.Entity{Blueprint: "service", Identifier: "github/Other", Datasource: "port-ocean/github-ocean/1.0/my-github/exporter"})

	sink, m, err := portsink.SetupWith(context.Background(), e.cfg, client, e.mirror, file, e.log)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := resync.Run(context.Background(), resync.Options{Config: e.cfg, Mapping: m, Store: sink, Logger: e.log,
		Client: gitlab.Options{RetryBase: time.Millisecond}})
	if err != nil || sum.Err() != nil {
		t.Fatalf("%v %v", err, sum.Err())
	}
	got := e.portIDs("service")
	if x, ok := got[live]; !ok || x.Datasource != client.UserAgent() || x.Properties["url"] == nil {
		t.Fatalf("the project Ocean wrote and GitLab still has: %+v", x)
	}
	if _, ok := got["acme/Decommissioned"]; ok {
		t.Fatal("a stale entity Ocean wrote was orphaned, not deleted")
	}
	if _, ok := e.portIDs("gitlabMergeRequest")["1"]; ok {
		t.Fatal("a stale entity Ocean v1 wrote for this identifier was not deleted")
	}
	if _, ok := got["github/Other"]; !ok {
		t.Fatal("another integration's entity was deleted")
	}
	counts, _ := e.port.Requests()
	if counts["POST /v1/blueprints/:b/bulk/entities/delete"] == 0 || counts["DELETE /v1/blueprints/:b/entities/:id"] != 0 {
		t.Fatalf("deletions must use Port's bulk delete: %v", counts)
	}
	// The blueprints created are Ocean's gitlab-v2 ones.
	var ocean []map[string]any
	if err := json.Unmarshal(mapping.OceanBlueprints(mapping.OceanV2), &ocean); err != nil {
		t.Fatal(err)
	}
	for _, want := range ocean {
		id := want["identifier"].(string)
		have := e.port.Blueprint(id)
		if have == nil {
			t.Fatalf("blueprint %s not created", id)
		}
		if id == "service" {
			// Ocean's default mapping writes hasPortConfig, which Ocean's
			// service blueprint lacks: added, as a boolean.
			props := have["schema"].(map[string]any)["properties"].(map[string]any)
			if hp, _ := props["hasPortConfig"].(map[string]any); hp["type"] != "boolean" {
				t.Fatalf("service.hasPortConfig: %v", props["hasPortConfig"])
			}
			delete(props, "hasPortConfig")
		}
		for _, f := range []string{"title", "icon", "schema", "relations"} {
			a, _ := json.Marshal(have[f])
			b, _ := json.Marshal(want[f])
			if string(a) != string(b) {
				t.Errorf("blueprint %s: %s is %s, want Ocean's %s", id, f, a, b)
			}
		}
	}
}

// TestOrphansFoundAcrossOwnedPages: Port lists the entities this
// integration owns 5,000 at a time; orphans on the first and the last
// page are deleted, and every entity the mirror holds is kept.
func TestOrphansFoundAcrossOwnedPages(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.port.AddBlueprint("service")
	run0, err := e.mirror.BeginRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var held []*catalog.Entity
	for i := range 5997 {
		id := fmt.Sprintf("keep-%04d", i)
		e.port.AddEntity(porttest.Entity{Blueprint: "service", Identifier: id, Datasource: e.client.UserAgent()})
		held = append(held, &catalog.Entity{Blueprint: "service", Identifier: id, Properties: map[string]any{}, Relations: map[string]any{}})
	}
	if _, err := e.mirror.Upsert(ctx, run0, "project", held); err != nil {
		t.Fatal(err)
	}
	orphans := []string{"a-orphan", "z-orphan-1", "z-orphan-2"} // sorted onto the first and the second page
	for _, id := range orphans {
		e.port.AddEntity(porttest.Entity{Blueprint: "service", Identifier: id, Datasource: e.client.UserAgent()})
	}
	sink := portsink.New(e.mirror, e.client, portsink.Options{Log: e.log})
	run, err := sink.BeginRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.FinishRun(ctx, run, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	got := e.portIDs("service")
	for _, id := range orphans {
		if _, ok := got[id]; ok {
			t.Fatalf("orphan %s was kept", id)
		}
	}
	if len(got) != len(held) {
		t.Fatalf("%d entities left in Port, want the %d the mirror holds", len(got), len(held))
	}
	if counts, _ := e.port.Requests(); counts["POST /v1/blueprints/:b/datasource-entities"] < 2 {
		t.Fatalf("the owned listing took %d pages; the test needs more than one", counts["POST /v1/blueprints/:b/datasource-entities"])
	}
}

// cancelOnOwned cancels a context as Port's owned listing is requested,
// then sends the request: one made under that context fails.
type cancelOnOwned struct {
	cancel context.CancelFunc
	base   http.RoundTripper
}

func (c cancelOnOwned) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/datasource-entities") {
		c.cancel()
	}
	return c.base.RoundTrip(r)
}

// TestReconciliationOutlivesFinishRunsContext: resync gives FinishRun a
// context of a few seconds to record the run; the reconciliation with
// what Port holds, which takes longer in a large organisation, runs under
// the run's own context instead.
func TestReconciliationOutlivesFinishRunsContext(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.port.AddBlueprint("service")
	e.port.AddEntity(porttest.Entity{Blueprint: "service", Identifier: "old/GoneService", Datasource: e.client.UserAgent()})
	finish, cancel := context.WithCancel(ctx)
	defer cancel()
	client, err := port.New(port.Options{BaseURL: e.cfg.PortBaseURL, ClientID: clientID, ClientSecret: clientSecret, Integration: "my-gitlab",
		RetryWaitMin: time.Millisecond, RetryWaitMax: 20 * time.Millisecond, MaxRetries: -1,
		HTTPClient: &http.Client{Transport: cancelOnOwned{cancel: cancel, base: http.DefaultTransport}}})
	if err != nil {
		t.Fatal(err)
	}
	sink := portsink.New(e.mirror, client, portsink.Options{Log: e.log, Force: true}) // the orphan is all Port holds
	run, err := sink.BeginRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.FinishRun(finish, run, true, time.Now()); err != nil {
		t.Fatalf("FinishRun: %v", err)
	}
	if _, ok := e.portIDs("service")["old/GoneService"]; ok {
		t.Fatal("the orphan was kept")
	}
}
