package crawl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/resync/minimum"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// jobsOrg is an organisation with every case where the project's job
// listing and the per-pipeline listings differ or run out: a project
// whose pipelines take two pages, one with no pipeline, retried jobs in
// finished pipelines, a pipeline of 130 jobs (more than Ocean's first
// page), pipelines with jobs still created (running, manual, created),
// a project whose job listing is too long to read to its end, and a
// project with a single pipeline.
func jobsOrg(t *testing.T) (*gitlabtest.Server, string) {
	t.Helper()
	sim := gitlabtest.New(gitlabtest.Options{})
	g := sim.AddGroup(nil, "ci")
	sim.AddToken(gitlabtest.Token{Value: "glpat-jobsjobsjobsjobs", Kind: gitlabtest.AdminToken, Name: "admin"})
	many := sim.AddProject(g, "many-pipelines")
	for i := range 150 {
		status := []string{"success", "failed", "canceled", "skipped"}[i%4]
		sim.AddPipeline(many.ID, status, "build", "test", "deploy")
	}
	sim.AddProject(g, "no-pipelines")
	retried := sim.AddProject(g, "retried")
	for range 3 {
		_, js := sim.AddPipeline(retried.ID, "success", "build", "test", "deploy")
		sim.SetJobStatus(js[1].ID, "failed")
		again := sim.RetryJob(js[1].ID, "failed")
		sim.RetryJob(again.ID, "success")
	}
	big := sim.AddProject(g, "big-pipeline")
	names := make([]string, 130)
	for i := range names {
		names[i] = fmt.Sprintf("job-%03d", i)
	}
	_, js := sim.AddPipeline(big.ID, "success", names...)
	sim.RetryJob(js[129].ID, "success") // a retried job among the newest 100
	sim.AddPipeline(big.ID, "success", "build", "test")
	sim.AddPipeline(big.ID, "failed", "build", "test")
	running := sim.AddProject(g, "running")
	for _, status := range []string{"success", "running", "manual", "created", "failed"} {
		_, js := sim.AddPipeline(running.ID, status, "build", "test", "deploy")
		switch status {
		case "running":
			sim.SetJobStatus(js[0].ID, "success")
			sim.SetJobStatus(js[1].ID, "running")
			sim.SetJobStatus(js[2].ID, "created")
		case "manual":
			sim.SetJobStatus(js[0].ID, "success")
			sim.SetJobStatus(js[1].ID, "manual")
			sim.SetJobStatus(js[2].ID, "created")
		}
	}
	// Four pipelines of 120 jobs: the project's listing stops after its
	// first page, which covered the newest and reached no other.
	long := sim.AddProject(g, "long-listing")
	many120 := make([]string, 120)
	for i := range many120 {
		many120[i] = fmt.Sprintf("job-%03d", i)
	}
	for range 4 {
		sim.AddPipeline(long.ID, "success", many120...)
	}
	one := sim.AddProject(g, "one-pipeline")
	sim.AddPipeline(one.ID, "success", "build")
	ts := sim.Start(t)
	return sim, ts.URL
}

// readJobs reads the job kind with o and returns the objects, in order,
// as JSON, with the requests it took.
func readJobs(t *testing.T, sim *gitlabtest.Server, host string, o Options) ([]string, map[string]int) {
	t.Helper()
	sim.ResetRequests()
	s := source(t, host, "glpat-jobsjobsjobsjobs", "**")
	byProject := map[string][]string{}
	_, err := s.ProjectChildren(context.Background(), selector.KindJob, o, func(p gitlab.Page) error {
		for _, j := range p.Items {
			b, err := json.Marshal(j)
			if err != nil {
				return err
			}
			pr := j["__project"].(map[string]any)
			byProject[pr["path_with_namespace"].(string)] = append(byProject[pr["path_with_namespace"].(string)], string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range []string{"many-pipelines", "no-pipelines", "retried", "big-pipeline", "running", "long-listing", "one-pipeline"} {
		out = append(out, byProject["ci/"+p]...)
	}
	counts, _ := sim.Requests()
	return out, counts
}

// TestOceanJobsFromProjectListing checks that Ocean v2's jobs read from
// the project's job listing are exactly, field for field and in the same
// order, the ones Ocean's own reading (a listing per pipeline) returns,
// with every pipeline listed and with pipelineQueryParams, and in fewer
// requests.
func TestOceanJobsFromProjectListing(t *testing.T) {
	sim, host := jobsOrg(t)
	for _, tc := range []struct {
		name      string
		pipelines url.Values
		jobs      int
	}{
		// 150×3 + 3×3 + (100 + 2 + 2) + (3+3+3+3+3) + 4×100 + 1
		{"every pipeline", nil, 450 + 9 + 104 + 15 + 400 + 1},
		{"pipelineQueryParams", url.Values{"status": {"success"}}, 38*3 + 9 + 102 + 3 + 400 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ocean, oceanReqs := readJobs(t, sim, host, Options{Options: selector.Options{JobsPerPipeline: 100, PipelineQueryParams: tc.pipelines}, JobsPipelineByPipeline: true})
			got, reqs := readJobs(t, sim, host, Options{Options: selector.Options{JobsPerPipeline: 100, PipelineQueryParams: tc.pipelines}})
			if len(ocean) != tc.jobs {
				t.Fatalf("Ocean's reading: %d jobs, want %d", len(ocean), tc.jobs)
			}
			if len(got) != len(ocean) {
				t.Fatalf("%d jobs, Ocean's reading %d", len(got), len(ocean))
			}
			for i := range got {
				if got[i] != ocean[i] {
					t.Fatalf("job %d:\n got %s\nwant %s", i, got[i], ocean[i])
				}
			}
			if reqs["GET /projects/:id/pipelines"] != oceanReqs["GET /projects/:id/pipelines"] ||
				reqs["GET /projects/:id/pipelines/:id/jobs"] >= oceanReqs["GET /projects/:id/pipelines/:id/jobs"] {
				t.Errorf("requests %v, Ocean's reading %v", reqs, oceanReqs)
			}
			t.Logf("requests %v, Ocean's reading %v", reqs, oceanReqs)
			if tc.pipelines == nil {
				// The fewest requests: the long-listing project's listing
				// is given up after its first page (which reached one
				// pipeline only, so its pipelines hold a page of jobs
				// each), its other three pipelines read one by one, as
				// many requests as Ocean's four.
				least, _ := minimum.OceanJobs(sim, func(gitlabtest.ProjectInfo) bool { return true })
				n := reqs["GET /projects/:id/pipelines"] + reqs["GET /projects/:id/jobs"] + reqs["GET /projects/:id/pipelines/:id/jobs"]
				if n != least {
					t.Errorf("%d requests, the fewest %d", n, least)
				}
			}
		})
	}
}

// TestOceanV1Jobs checks the v1 reading on the same organisation: Ocean
// v1 lists every page of each project's job listing (gitlab_service.py,
// get_all_jobs), so its set is every job GitLab's project listing shows,
// retried ones included and created ones not, one request per 100 jobs.
func TestOceanV1Jobs(t *testing.T) {
	sim, host := jobsOrg(t)
	got, reqs := readJobs(t, sim, host, Options{})
	want := 0
	perProject := map[int64]int{}
	for _, j := range sim.Jobs() {
		if j.Status != "created" {
			want++
			perProject[j.ProjectID]++
		}
	}
	if len(got) != want {
		t.Fatalf("%d jobs, want %d", len(got), want)
	}
	least := 0
	for _, p := range sim.Projects() {
		least += max(1, (perProject[p.ID]+99)/100)
	}
	if reqs["GET /projects/:id/jobs"] != least || reqs["GET /projects/:id/pipelines"] != 0 {
		t.Errorf("requests %v, want %d job listing pages", reqs, least)
	}
}

// jobNames returns n job names.
func jobNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("job-%03d", i)
	}
	return out
}

// TestOceanJobsPerProjectShape reads one project of each shape both ways
// and checks, per project, that the project-listing reading returns the
// per-pipeline reading's objects (every field) and never costs
// more requests than it, but for the shapes whose first pages cannot
// tell them from cheap ones (see jobs.go): those are held to the bound
// jobs.go proves, one request or half the finished pipelines.
func TestOceanJobsPerProjectShape(t *testing.T) {
	for _, tc := range []struct {
		name string
		// finished is the number of finished pipelines build adds (the
		// bound's W).
		finished int
		build    func(sim *gitlabtest.Server, id int64)
		// extra is the most requests the shape may cost above the
		// per-pipeline reading; saved, where extra is 0, the fewest it
		// must save (the common case keeps its saving).
		extra, saved int
	}{
		{"no pipelines", 0, func(*gitlabtest.Server, int64) {}, 0, 0},
		{"one pipeline", 1, func(sim *gitlabtest.Server, id int64) { sim.AddPipeline(id, "success", "build", "test") }, 0, 0},
		{"three pipelines of 3 jobs", 3, func(sim *gitlabtest.Server, id int64) {
			for range 3 {
				sim.AddPipeline(id, "success", "build", "test", "deploy")
			}
		}, 0, 2},
		{"150 pipelines of 3 jobs (two pipeline pages)", 150, func(sim *gitlabtest.Server, id int64) {
			for i := range 150 {
				sim.AddPipeline(id, []string{"success", "failed", "canceled", "skipped"}[i%4], "build", "test", "deploy")
			}
		}, 0, 150 - 5},
		{"300 pipelines of 1 job (three pipeline pages)", 300, func(sim *gitlabtest.Server, id int64) {
			for range 300 {
				sim.AddPipeline(id, "success", "build")
			}
		}, 0, 300 - 3},
		{"40 pipelines of 30 jobs", 40, func(sim *gitlabtest.Server, id int64) {
			for range 40 {
				sim.AddPipeline(id, "failed", jobNames(30)...)
			}
		}, 0, 40 - 12},
		{"5 pipelines of 50 jobs", 5, func(sim *gitlabtest.Server, id int64) {
			for range 5 {
				sim.AddPipeline(id, "success", jobNames(50)...)
			}
		}, 0, 5 - 3},
		{"4 pipelines of 120 jobs", 4, func(sim *gitlabtest.Server, id int64) {
			for range 4 {
				sim.AddPipeline(id, "success", jobNames(120)...)
			}
		}, 0, 0},
		{"3 pipelines of 300 jobs", 3, func(sim *gitlabtest.Server, id int64) {
			for range 3 {
				sim.AddPipeline(id, "success", jobNames(300)...)
			}
		}, 0, 0},
		{"a pipeline of 130 jobs, one retried, and two small ones", 3, func(sim *gitlabtest.Server, id int64) {
			_, js := sim.AddPipeline(id, "success", jobNames(130)...)
			sim.RetryJob(js[129].ID, "success")
			sim.AddPipeline(id, "success", "build", "test")
			sim.AddPipeline(id, "failed", "build", "test")
		}, 0, 1},
		{"jobs retried within pipelines", 3, func(sim *gitlabtest.Server, id int64) {
			for range 3 {
				_, js := sim.AddPipeline(id, "success", "build", "test", "deploy")
				sim.SetJobStatus(js[1].ID, "failed")
				again := sim.RetryJob(js[1].ID, "failed")
				sim.RetryJob(again.ID, "success")
			}
		}, 0, 2},
		{"unfinished pipelines", 2, func(sim *gitlabtest.Server, id int64) {
			for _, status := range []string{"success", "running", "manual", "created", "failed"} {
				_, js := sim.AddPipeline(id, status, "build", "test", "deploy")
				if status == "running" || status == "manual" {
					sim.SetJobStatus(js[0].ID, "success")
					sim.SetJobStatus(js[1].ID, status)
					sim.SetJobStatus(js[2].ID, "created")
				}
			}
		}, 0, 1},
		// The first page holds 100 rows of one pipeline's 40 jobs, each
		// retried three times: nothing covered, no end, one request lost.
		{"two pipelines of 40 jobs retried three times each", 2, func(sim *gitlabtest.Server, id int64) {
			for range 2 {
				_, js := sim.AddPipeline(id, "success", jobNames(40)...)
				for _, j := range js {
					for range 3 {
						j = sim.RetryJob(j.ID, "success")
					}
				}
			}
		}, 1, 0},
		// The worst case jobs.go allows: twenty small pipelines on the
		// first page, then an old pipeline's 2,550 rows (50 jobs retried
		// 50 times before the others ran), read until the slack is spent.
		{"an old pipeline with a long retry history under 20 small ones", 21, func(sim *gitlabtest.Server, id int64) {
			_, js := sim.AddPipeline(id, "success", jobNames(50)...)
			for _, j := range js {
				for range 50 {
					j = sim.RetryJob(j.ID, "success")
				}
			}
			for range 20 {
				sim.AddPipeline(id, "success", "build", "test", "deploy")
			}
		}, 11, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if bound := max(1, (tc.finished+1)/2); tc.extra > bound {
				t.Fatalf("extra %d above the bound %d", tc.extra, bound)
			}
			sim := gitlabtest.New(gitlabtest.Options{})
			g := sim.AddGroup(nil, "ci")
			sim.AddToken(gitlabtest.Token{Value: "glpat-jobsjobsjobsjobs", Kind: gitlabtest.AdminToken, Name: "admin"})
			tc.build(sim, sim.AddProject(g, "shape").ID)
			host := sim.Start(t).URL
			read := func(o Options) ([]string, int) {
				sim.ResetRequests()
				var out []string
				_, err := source(t, host, "glpat-jobsjobsjobsjobs", "**").ProjectChildren(context.Background(), selector.KindJob, o, func(p gitlab.Page) error {
					for _, j := range p.Items {
						b, err := json.Marshal(j)
						if err != nil {
							return err
						}
						out = append(out, string(b))
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				c, _ := sim.Requests()
				return out, c["GET /projects/:id/pipelines"] + c["GET /projects/:id/jobs"] + c["GET /projects/:id/pipelines/:id/jobs"]
			}
			ocean, oceanReqs := read(Options{Options: selector.Options{JobsPerPipeline: 100}, JobsPipelineByPipeline: true})
			got, reqs := read(Options{Options: selector.Options{JobsPerPipeline: 100}})
			// As sets: listAll hands the pipeline listing's later pages
			// over as they arrive, so past two pages the order of the
			// pipelines varies from one reading to the next.
			slices.Sort(ocean)
			slices.Sort(got)
			if len(got) != len(ocean) {
				t.Fatalf("%d jobs, the per-pipeline reading %d", len(got), len(ocean))
			}
			for i := range got {
				if got[i] != ocean[i] {
					t.Fatalf("job %d:\n got %s\nwant %s", i, got[i], ocean[i])
				}
			}
			if reqs > oceanReqs+tc.extra || (tc.extra == 0 && oceanReqs-reqs < tc.saved) {
				t.Errorf("%d requests, the per-pipeline reading %d (at most %+d, saving at least %d)", reqs, oceanReqs, tc.extra, tc.saved)
			}
			t.Logf("%d jobs: %d requests, the per-pipeline reading %d", len(got), reqs, oceanReqs)
		})
	}
}
