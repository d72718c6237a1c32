package resync_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
)

func TestEveryKind(t *testing.T) {
	e := newEnv(t, allOf)
	ps := e.sim.Projects()
	var p gitlabtest.ProjectInfo
	for _, x := range ps {
		if !x.EmptyRepo && !x.Archived {
			p = x
			break
		}
	}
	issue := e.sim.AddIssue(p.ID, "Login fails", false)
	pl, jobs := e.sim.AddPipeline(p.ID, "success", "build", "test")
	e.sim.AddRelease(p.ID, "v1.2.0")
	m, err := mapping.Load("../../shared/mapping/all-kinds.yml")
	if err != nil {
		t.Fatal(err)
	}
	sum := e.mustResync(t, m, e.store)
	has := func(bp, id string) *catalog.Entity {
		ents, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: bp})
		for _, x := range ents {
			if x.Identifier == id {
				return x
			}
		}
		return nil
	}
	if has("gitlabIssue", strconv.FormatInt(issue.ID, 10)) == nil {
		t.Error("issue missing")
	}
	if x := has("gitlabPipeline", strconv.FormatInt(pl.ID, 10)); x == nil || x.Relations["service"] != p.PathWithNamespace {
		t.Errorf("pipeline missing or unrelated: %+v", x)
	}
	for _, j := range jobs {
		if x := has("gitlabJob", strconv.FormatInt(j.ID, 10)); x == nil || x.Relations["pipeline"] != strconv.FormatInt(pl.ID, 10) {
			t.Errorf("job %d missing or unrelated: %+v", j.ID, x)
		}
	}
	if has("gitlabRelease", p.PathWithNamespace+"@v1.2.0") == nil {
		t.Error("release missing")
	}
	root := e.org.Roots[0]
	x := has("gitlabGroupMembers", strconv.FormatInt(root.ID, 10))
	if x == nil {
		t.Fatal("group-with-members entity missing")
	}
	members, _ := x.Properties["members"].([]any)
	if len(members) == 0 {
		t.Fatalf("no members: %+v", x.Properties)
	}
	for _, mb := range members {
		if strings.Contains(mb.(string), "_bot") {
			t.Fatalf("bot member kept without includeBotMembers: %v", members)
		}
	}
	if k := kind(sum, "pipeline"); k.Selected != 1 {
		t.Fatalf("pipelines selected %d, want 1 (a shared project's pipeline is synced once)", k.Selected)
	}
}

func TestEveryKindNewKinds(t *testing.T) {
	e := newEnv(t, allOf)
	m, err := mapping.Load("../../shared/mapping/all-kinds.yml")
	if err != nil {
		t.Fatal(err)
	}
	e.mustResync(t, m, e.store)
	count := func(bp string) int {
		ents, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: bp})
		return len(ents)
	}
	var nonEmpty, tagged, services int
	for _, p := range e.sim.Projects() {
		if !p.EmptyRepo {
			nonEmpty++
			if p.ID%2 == 0 {
				tagged++
			}
			if strings.HasSuffix(p.Name, "Service") {
				services++
			}
		}
	}
	// One default branch per non-empty project; three tags per even
	// project; the staging and production deployments of each service.
	if got := count("gitlabBranch"); got != nonEmpty {
		t.Errorf("branches %d, want %d", got, nonEmpty)
	}
	if got := count("gitlabTag"); got != 3*tagged {
		t.Errorf("tags %d, want %d", got, 3*tagged)
	}
	if got := count("gitlabDeployment"); got != 2*services {
		t.Errorf("deployments %d, want %d", got, 2*services)
	}
	if got := count("gitlabProjectMembers"); got != len(e.sim.Projects()) {
		t.Errorf("project-with-members %d, want %d", got, len(e.sim.Projects()))
	}
	members, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "gitlabMember"})
	for _, mb := range members {
		if strings.Contains(mb.Identifier, "_bot") {
			t.Errorf("bot member synced: %s", mb.Identifier)
		}
	}
	if len(members) == 0 {
		t.Error("no members")
	}
}

func TestEntityDeletionThreshold(t *testing.T) {
	e := newEnv(t, allOf)
	if err := e.resync(t).Err(); err != nil {
		t.Fatal(err)
	}
	before := len(e.catalogIDs(t, "service"))
	for i, p := range e.sim.Projects() {
		if i%20 != 0 {
			e.sim.RemoveProject(p.ID)
		}
	}
	sum := e.resync(t)
	if !sum.Failed() || !strings.Contains(sum.Err().Error(), "entityDeletionThreshold 90%") || len(e.catalogIDs(t, "service")) != before {
		t.Fatalf("the guard must refuse and keep everything: %v", sum.Err())
	}
	e.cfg.ForceDeletion = true
	if err := e.resync(t).Err(); err != nil || len(e.catalogIDs(t, "service")) >= before/10 {
		t.Fatalf("forced: %v, %d left", err, len(e.catalogIDs(t, "service")))
	}
}

func TestJobsOfWholePipelines(t *testing.T) {
	e := newEnv(t, allOf)
	var p gitlabtest.ProjectInfo
	for _, x := range e.sim.Projects() {
		if !x.EmptyRepo {
			p = x
			break
		}
	}
	names := make([]string, 130) // more than a page of jobs
	for i := range names {
		names[i] = fmt.Sprintf("job-%03d", i)
	}
	_, jobs := e.sim.AddPipeline(p.ID, "success", names...)
	for _, j := range jobs[:10] {
		e.sim.SetJobStatus(j.ID, "skipped")
	}
	e.sim.AddPipeline(p.ID, "failed", "newer-but-failed")
	m, err := mapping.Parse([]byte(`
resources:
  - kind: job
    selector: {query: 'true', limitPerProject: 100, pipelineQueryParams: {status: success}, apiQueryParams: {scope: [success, failed]}}
    port: {entity: {mappings: {identifier: .id | tostring, title: .name, blueprint: '"job"', relations: {pipeline: .pipeline.id | tostring}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	e.mustResync(t, m, e.store)
	got, _ := e.store.List(context.Background(), catalog.Filter{Blueprint: "job"})
	// The successful pipeline's jobs over two pages, less the 10 skipped
	// ones (scope[]), none of the failed pipeline (pipelineQueryParams).
	if len(got) != 120 {
		t.Fatalf("%d jobs, want 120", len(got))
	}
	for _, en := range got {
		if en.Title == "newer-but-failed" {
			t.Fatalf("job of a filtered-out pipeline: %+v", en)
		}
	}
}

// TestNewestJobsOfProject checks the job kind without pipeline filters:
// one project job listing per project, newest first, up to
// limitPerProject, and never half a pipeline.
func TestNewestJobsOfProject(t *testing.T) {
	e := newEnv(t, allOf)
	var p gitlabtest.ProjectInfo
	for _, x := range e.sim.Projects() {
		if !x.EmptyRepo && len(x.SharedWith) == 0 {
			p = x
			break
		}
	}
	names := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s-%03d", prefix, i)
		}
		return out
	}
	e.sim.AddPipeline(p.ID, "success", names("old", 130)...) // more than a page
	_, mid := e.sim.AddPipeline(p.ID, "failed", names("mid", 5)...)
	for _, j := range mid[:4] {
		e.sim.SetJobStatus(j.ID, "success") // the last stage failed
	}
	e.sim.AddPipeline(p.ID, "running", names("new", 3)...)
	for _, tc := range []struct {
		name     string
		selector string
		jobs     int
		extra    int // GET /projects/:id/jobs beyond one per project
	}{
		// 3 newest, then all 5 of the pipeline begun: the old one is not begun.
		{"limit inside the second pipeline", "limitPerProject: 5", 8, 0},
		// Below the limit when the old pipeline begins: all 130 of it,
		// over two pages.
		{"limit reaches the old pipeline", "limitPerProject: 10", 138, 1},
		// scope[] goes to GitLab.
		{"scope", "limitPerProject: 100, apiQueryParams: {scope: [failed]}", 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := mapping.Parse([]byte(`
resources:
  - kind: job
    selector: {query: 'true', ` + tc.selector + `}
    port: {entity: {mappings: {identifier: .id | tostring, title: .name, blueprint: '"job"', properties: {status: .status}}}}
`))
			if err != nil {
				t.Fatal(err)
			}
			st := freshStore(t)
			e.sim.ResetRequests()
			e.mustResync(t, m, st)
			jobs, _ := st.List(context.Background(), catalog.Filter{Blueprint: "job"})
			counts, _ := e.sim.Requests()
			// One listing per project each token sees (a shared project
			// is listed by both tokens).
			perProject := nonEmptyPerToken(e)
			if len(jobs) != tc.jobs || counts["GET /projects/:id/jobs"] != perProject+tc.extra || counts["GET /projects/:id/pipelines"] != 0 {
				t.Fatalf("%d jobs (want %d), requests %v (want %d job listings)", len(jobs), tc.jobs, counts, perProject+tc.extra)
			}
		})
	}
}

// nonEmptyPerToken counts, over the root tokens, the projects with a
// repository each sees: what a per-project kind lists once each.
func nonEmptyPerToken(e *env) int {
	sc := newRootScope(e.sim)
	n := 0
	for _, root := range e.org.Roots {
		for _, p := range e.sim.Projects() {
			if sc.sees(p, root.ID) && !p.EmptyRepo {
				n++
			}
		}
	}
	return n
}
