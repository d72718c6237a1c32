package crawl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/resync/minimum"
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
	// Four pipelines of 120 jobs: the project's listing stops after two
	// pages (half as many as pipelines), having covered only the newest.
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
	_, err := s.ProjectChildren(context.Background(), KindJob, o, func(p gitlab.Page) error {
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
			ocean, oceanReqs := readJobs(t, sim, host, Options{JobsPerPipeline: 100, PipelineQueryParams: tc.pipelines, JobsPipelineByPipeline: true})
			got, reqs := readJobs(t, sim, host, Options{JobsPerPipeline: 100, PipelineQueryParams: tc.pipelines})
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
				// The fewest requests, but for the long-listing project:
				// its listing was given up after two pages (the newest
				// pipeline covered), where its four pipelines' own
				// listings alone would have taken four requests.
				least, _ := minimum.OceanJobs(sim, func(gitlabtest.ProjectInfo) bool { return true })
				n := reqs["GET /projects/:id/pipelines"] + reqs["GET /projects/:id/jobs"] + reqs["GET /projects/:id/pipelines/:id/jobs"]
				if n != least+1 {
					t.Errorf("%d requests, the fewest %d (+1 for the long listing)", n, least)
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
