package resync_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

const (
	groupTok   = "glpat-acme-group-token-0001"
	projectTok = "glpat-acme-project-token-01"
)

// searchOrg is a small instance with advanced search: acme (payments,
// billing, search) and globex (ledger, shared with acme), each with a
// catalog-info.yaml; a group access token on acme and a project access
// token on acme/payments.
type searchOrg struct {
	sim                               *gitlabtest.Server
	host                              string
	payments, billing, search, ledger *gitlabtest.Project
}

func newSearchOrg(t *testing.T) *searchOrg {
	t.Helper()
	sim := gitlabtest.New(gitlabtest.Options{AdvancedSearch: true})
	acme, globex := sim.AddGroup(nil, "acme"), sim.AddGroup(nil, "globex")
	o := &searchOrg{sim: sim, payments: sim.AddProject(acme, "payments"), billing: sim.AddProject(acme, "billing"),
		search: sim.AddProject(acme, "search"), ledger: sim.AddProject(globex, "ledger")}
	o.ledger.SharedWith = []int64{acme.ID}
	for _, p := range []*gitlabtest.Project{o.payments, o.billing, o.search, o.ledger} {
		sim.SetFile(p.ID, "catalog-info.yaml", "tier: gold\n")
	}
	sim.AddToken(gitlabtest.Token{Value: groupTok, Kind: gitlabtest.GroupAccessToken, GroupID: acme.ID, Name: "acme-glsync"})
	sim.AddToken(gitlabtest.Token{Value: projectTok, Kind: gitlabtest.ProjectAccessToken, ProjectID: o.payments.ID, AccessLevel: 40, Name: "payments-glsync"})
	o.host = sim.Start(t).URL
	return o
}

func fileMapping(t *testing.T, strategy string) *mapping.Config {
	t.Helper()
	m, err := mapping.Parse([]byte(`
entityDeletionThreshold: 1
resources:
  - kind: file
    selector: {query: 'true', files: {path: 'catalog-info.yaml', searchStrategy: ` + strategy + `}}
    port: {entity: {mappings: {identifier: .repo.path_with_namespace, blueprint: '"component"', properties: {tier: '.file.content[0].tier'}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (o *searchOrg) resync(t *testing.T, token, strategy string, st catalog.Store, logs *syncBuffer) *resync.Summary {
	t.Helper()
	cfg := &config.Config{TokenMapping: tokenmap.Mapping{{Token: token, Patterns: []string{"**"}}}, GitLabHost: o.host, MaxConcurrentRequests: 8, MaxRetries: 8}
	sum, err := resync.Run(context.Background(), resync.Options{Config: cfg, Mapping: fileMapping(t, strategy), Store: st,
		Logger: slog.New(slog.NewTextHandler(logs, nil)), Client: gitlab.Options{RetryBase: time.Millisecond, MaxRetries: 2}})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func tiers(t *testing.T, st catalog.Store) map[string]any {
	t.Helper()
	ents, err := st.List(context.Background(), catalog.Filter{Blueprint: "component"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for _, e := range ents {
		out[e.Identifier] = e.Properties["tier"]
	}
	return out
}

// TestGroupSearchOutsideVisibleGroups: groupSearch finds the files of
// projects no group search covers (Ocean issue #2800). A project access
// token sees no group: its project is searched by itself. A group token
// sees a project shared from another root: that one is searched by
// itself, the others come from the group search. Each listing says so in
// one log line.
func TestGroupSearchOutsideVisibleGroups(t *testing.T) {
	o := newSearchOrg(t)
	for _, tc := range []struct {
		token   string
		want    []string
		outside int
	}{
		{projectTok, []string{"acme/payments"}, 1},
		{groupTok, []string{"acme/billing", "acme/payments", "acme/search", "globex/ledger"}, 1},
	} {
		st, err := sqlitestore.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		logs := &syncBuffer{}
		o.sim.ResetRequests()
		sum := o.resync(t, tc.token, "groupSearch", st, logs)
		if sum.Failed() || sum.Outcome() != "ok" {
			t.Fatalf("%s: %s %v", tc.token, sum.Outcome(), sum.Err())
		}
		got := tiers(t, st)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: synced %v, want %v", tc.token, got, tc.want)
		}
		for _, id := range tc.want {
			if got[id] != "gold" {
				t.Fatalf("%s: %s not synced: %v", tc.token, id, got)
			}
		}
		counts, _ := o.sim.Requests()
		if counts["GET /projects/:id/search"] != tc.outside || counts["GET /projects/:id/repository/:id"] != 0 {
			t.Fatalf("%s: want %d project search and no tree listing: %v", tc.token, tc.outside, counts)
		}
		if n := strings.Count(logs.String(), "were searched one by one"); n != 1 {
			t.Fatalf("%s: %d log lines about per-project search, want 1:\n%s", tc.token, n, logs)
		}
	}
}

// TestRepositoryRefusingItsListing: one repository whose blob search or
// tree answers 400, 404 or 301 (Ocean PR #3713) is a file error: the kind
// completes with the other repositories synced (a change elsewhere is
// written), the refusing one's entity is kept, and the summary names it.
// A 500 there still fails the kind.
func TestRepositoryRefusingItsListing(t *testing.T) {
	o := newSearchOrg(t)
	for _, tc := range []struct {
		strategy, token string
		victim          *gitlabtest.Project
		route           string
	}{
		{"projectSearch", groupTok, o.billing, "search"},
		{"repositoryTree", groupTok, o.billing, "repository/tree"},
		{"groupSearch", groupTok, o.ledger, "search"}, // shared: searched by itself
		{"groupSearch", projectTok, o.payments, "search"},
	} {
		for _, status := range []int{400, 404, 301, 500} {
			t.Run(fmt.Sprintf("%s %s %d", tc.strategy, tc.victim.Path, status), func(t *testing.T) {
				o.sim.SetFaults(gitlabtest.Faults{})
				for _, p := range []*gitlabtest.Project{o.payments, o.billing, o.search, o.ledger} {
					o.sim.SetFile(p.ID, "catalog-info.yaml", "tier: gold\n")
				}
				st, err := sqlitestore.Open(t.TempDir())
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				logs := &syncBuffer{}
				if sum := o.resync(t, tc.token, tc.strategy, st, logs); sum.Failed() {
					t.Fatal(sum.Err())
				}
				before := tiers(t, st)
				// Every repository changes; the victim refuses its listing.
				for _, p := range []*gitlabtest.Project{o.payments, o.billing, o.search, o.ledger} {
					o.sim.SetFile(p.ID, "catalog-info.yaml", "tier: silver\n")
				}
				o.sim.SetFaults(gitlabtest.Faults{FailPaths: map[string]int{fmt.Sprintf("GET /projects/%d/%s", tc.victim.ID, tc.route): status}})
				sum := o.resync(t, tc.token, tc.strategy, st, logs)
				k := kind(sum, "file")
				after := tiers(t, st)
				pwn := "acme/" + tc.victim.Path
				if tc.victim == o.ledger {
					pwn = "globex/ledger"
				}
				if after[pwn] != "gold" || len(after) != len(before) {
					t.Fatalf("the refusing repository's entity must be kept as it was: %v (before %v)", after, before)
				}
				if status == 500 {
					if !k.Failed() || k.Deleted != 0 {
						t.Fatalf("a 500 must fail the kind and delete nothing: %+v", k)
					}
					return
				}
				if k.Failed() || sum.Outcome() != resync.OutcomeFileErrors || k.FileErrorsTotal != 1 || k.Deleted != 0 {
					t.Fatalf("want a completed kind with one file error: %s %+v %v", sum.Outcome(), k, sum.Err())
				}
				fe := k.FileErrors[0]
				if fe.Reason != crawl.ReasonRefused || fe.Project != pwn || fe.ProjectID != tc.victim.ID || !strings.Contains(fe.Error(), fmt.Sprint(status)) {
					t.Fatalf("file error %+v: %v", fe, fe)
				}
				for id, tier := range after {
					if id != pwn && tier != "silver" {
						t.Fatalf("%s was not synced: %v", id, after)
					}
				}
			})
		}
	}
}
