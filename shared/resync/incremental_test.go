package resync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// incrementalEnv is an organisation with recent activity synced with the
// every-kind mapping into an embedded catalog.
type incrementalEnv struct {
	sim   *gitlabtest.Server
	org   gitlabtest.Org
	cfg   *config.Config
	m     *mapping.Config
	store *sqlitestore.Store
}

// newIncrementalEnv uses the every-kind mapping, whose file kind completes
// the project kind's service entities: writes merge (as Port merges
// Ocean's), so the catalog's content does not depend on which of the two
// reads a service last. replace loads it with enableMergeEntity: false.
func newIncrementalEnv(t *testing.T, seed int64, replace bool) *incrementalEnv {
	t.Helper()
	sim := gitlabtest.New(gitlabtest.Options{Seed: seed})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 2, Projects: 100, Depth: 3, Seed: seed, Activity: true})
	ts := sim.Start(t)
	var tm tokenmap.Mapping
	for _, tok := range org.RootTokens {
		tm = append(tm, tokenmap.Entry{Token: tok, Patterns: []string{"**"}})
	}
	file := "../mapping/all-kinds.yml"
	if replace {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		file = filepath.Join(t.TempDir(), "replace.yml")
		if err := os.WriteFile(file, append([]byte("enableMergeEntity: false\n"), raw...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m, err := mapping.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg := &config.Config{TokenMapping: tm, GitLabHost: ts.URL, MaxConcurrentRequests: 8, MaxRetries: 8}
	return &incrementalEnv{sim: sim, org: org, cfg: cfg, m: m, store: store}
}

func (e *incrementalEnv) resync(t *testing.T, incremental bool) *resync.Summary {
	t.Helper()
	sum, err := resync.Run(context.Background(), resync.Options{Config: e.cfg, Mapping: e.m, Store: e.store,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Incremental: incremental})
	if err != nil || sum.Failed() {
		t.Fatalf("resync (incremental %v): %v %v", incremental, err, sum.Err())
	}
	return sum
}

// snapshot is the catalog's content: every entity as JSON by key. (Update
// counts would not do: with the every-kind mapping the project and file
// kinds both write each service, so every pass counts updates while the
// content stays the same.)
func (e *incrementalEnv) snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := e.store.Each(context.Background(), catalog.Filter{}, func(x *catalog.Entity) error {
		b, err := json.Marshal(x)
		out[x.Blueprint+"/"+x.Identifier] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diff describes how two snapshots differ ("" when they do not).
func diff(before, after map[string]string) string {
	var d []string
	for k, v := range after {
		if w, ok := before[k]; !ok {
			d = append(d, "+"+k)
		} else if w != v {
			d = append(d, "~"+k+": "+w+" -> "+v)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			d = append(d, "-"+k)
		}
	}
	sort.Strings(d)
	if len(d) > 5 {
		d = append(d[:5], fmt.Sprintf("… %d in all", len(d)))
	}
	return strings.Join(d, "\n")
}

func kindOf(sum *resync.Summary, kind string) *resync.KindSummary {
	for _, k := range sum.Kinds {
		if k.Kind == kind {
			return k
		}
	}
	return nil
}

// activity applies n random changes that GitLab records as project events
// (pushes of files, branches and tags, new issues and merge requests, new
// projects, deleted ones) or that change the project's own fields
// (renames), with the changes those events bring (a pipeline and its jobs
// after a push, a release on a pushed tag, a job finishing in a project
// pushed to). It returns how many projects it touched.
func activity(t *testing.T, e *incrementalEnv, rnd *rand.Rand, n int) int {
	t.Helper()
	ctx := context.Background()
	touched := map[int64]bool{}
	for i := range n {
		ps := e.sim.Projects()
		var live []gitlabtest.ProjectInfo
		for _, p := range ps {
			if !p.Archived {
				live = append(live, p)
			}
		}
		p := live[rnd.IntN(len(live))]
		touched[p.ID] = true
		switch rnd.IntN(9) {
		case 0:
			e.sim.PushFile(ctx, p.ID, "catalog-info.json", fmt.Sprintf(`{"owner":"team-%d"}`, i))
		case 1:
			e.sim.PushFile(ctx, p.ID, fmt.Sprintf("internal/pkg%d/main.go", i), "package main")
		case 2:
			// A push starts a pipeline; its jobs finish later.
			e.sim.Push(ctx, p.ID)
			_, jobs := e.sim.AddPipeline(p.ID, "running", "build", "test")
			e.sim.SetJobStatus(jobs[0].ID, "success")
		case 3:
			tag := fmt.Sprintf("v9.%d.0", i)
			e.sim.PushRef(ctx, p.ID, "refs/tags/"+tag, false)
			e.sim.AddRelease(p.ID, tag)
		case 4:
			e.sim.PushRef(ctx, p.ID, fmt.Sprintf("refs/heads/feature-%d", i), false)
		case 5:
			e.sim.AddIssue(p.ID, fmt.Sprintf("Bug %d", i), false)
			e.sim.AddMergeRequest(p.ID, fmt.Sprintf("Fix %d", i))
		case 6:
			g := e.sim.Group(e.org.Roots[rnd.IntN(len(e.org.Roots))].FullPath)
			np, _ := e.sim.CreateProject(ctx, g, fmt.Sprintf("NewService%d", i))
			touched[np.ID] = true
		case 7:
			e.sim.DestroyProject(ctx, p.ID)
		case 8:
			e.sim.UpdateProject(p.ID, func(pr *gitlabtest.Project) {
				pr.Name = fmt.Sprintf("%s Renamed %d", pr.Name, i)
			})
		}
	}
	return len(touched)
}

// After any sequence of changes GitLab records as project activity, an
// incremental resync followed by a full one changes nothing: the
// incremental pass caught everything the full pass would.
func TestIncrementalThenFullChangesNothing(t *testing.T) {
	for _, seed := range []int64{1, 2} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			e := newIncrementalEnv(t, seed, false)
			first := e.resync(t, true)
			base := e.snapshot(t)
			if k := kindOf(first, "pipeline"); !k.Full || k.FullReason == "" {
				t.Fatalf("the first pass of a kind must be full, with a reason: %+v", k)
			}
			// Nothing happened: the incremental pass reads no project and
			// changes nothing.
			quiet := e.resync(t, true)
			if d := diff(base, e.snapshot(t)); d != "" {
				t.Fatalf("an incremental pass with no activity changed the catalog:\n%s", d)
			}
			for _, kind := range []string{"pipeline", "job", "release", "tag", "branch", "deployment", "folder"} {
				if k := kindOf(quiet, kind); k.Full || k.ReadProjects != 0 || k.SkippedProjects == 0 {
					t.Fatalf("%s: full %v, read %d, skipped %d; want every project skipped", kind, k.Full, k.ReadProjects, k.SkippedProjects)
				}
			}
			rnd := rand.New(rand.NewPCG(uint64(seed), 77))
			for round := range 2 {
				touched := activity(t, e, rnd, 20)
				inc := e.resync(t, true)
				if k := kindOf(inc, "pipeline"); k.Full || k.ReadProjects == 0 || k.ReadProjects > touched+10*(round+1) {
					t.Fatalf("round %d: pipeline pass read %d projects after activity in %d (full %v)", round, k.ReadProjects, touched, k.Full)
				}
				after := e.snapshot(t)
				e.resync(t, false)
				if d := diff(after, e.snapshot(t)); d != "" {
					t.Fatalf("round %d: the full pass after an incremental one changed the catalog:\n%s", round, d)
				}
			}
		})
	}
}

// What GitLab records no event for is missed by incremental passes until
// the next full one (README, "Incremental resyncs"): here a job's status
// changing in a project with no activity, and a release on an existing
// tag.
func TestIncrementalMissesWhatGitLabRecordsNoEventFor(t *testing.T) {
	e := newIncrementalEnv(t, 5, false)
	e.resync(t, true)
	base := e.snapshot(t)
	var job gitlabtest.Job
	for _, j := range e.sim.Jobs() {
		if j.Status == "success" {
			job = j
			break
		}
	}
	if job.ID == 0 {
		t.Fatal("no successful job generated")
	}
	e.sim.SetJobStatus(job.ID, "failed")
	e.resync(t, true)
	if d := diff(base, e.snapshot(t)); d != "" {
		t.Fatalf("the incremental pass saw a change GitLab records no activity for:\n%s", d)
	}
	e.resync(t, false)
	caught := e.snapshot(t)
	d := diff(base, caught)
	if !strings.Contains(d, fmt.Sprintf("gitlabJob/%d", job.ID)) || strings.Count(d, "\n") != 0 {
		t.Fatalf("the full pass should change exactly the job: %s", d)
	}
	// Once caught, the next incremental pass is quiet again.
	e.resync(t, true)
	if d := diff(caught, e.snapshot(t)); d != "" {
		t.Fatalf("changes after the full pass:\n%s", d)
	}
}

// Where writes replace entities (enableMergeEntity: false), a kind whose
// entities another kind also writes is always read in full: skipping its
// projects would leave the other kind's write in their place. Where they
// merge (the default), it is incremental like any other.
func TestIncrementalReadsSharedEntitiesInFull(t *testing.T) {
	e := newIncrementalEnv(t, 4, true)
	e.resync(t, true)
	sum := e.resync(t, true)
	if k := kindOf(sum, "file"); !k.Full || !strings.Contains(k.FullReason, "kind project") || !strings.Contains(k.FullReason, "enableMergeEntity") || k.SkippedProjects != 0 {
		t.Fatalf("file kind: full %v (%s), skipped %d; want full, naming the project kind", k.Full, k.FullReason, k.SkippedProjects)
	}
	merged := newIncrementalEnv(t, 4, false)
	merged.resync(t, true)
	if k := kindOf(merged.resync(t, true), "file"); k.Full || k.SkippedProjects == 0 {
		t.Fatalf("file kind with merged writes: full %v (%s), skipped %d; want incremental", k.Full, k.FullReason, k.SkippedProjects)
	}
	if k := kindOf(sum, "tag"); k.Full || k.SkippedProjects == 0 {
		t.Fatalf("tag kind: full %v (%s); want incremental", k.Full, k.FullReason)
	}
}
