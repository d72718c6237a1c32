package gitlabtest

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestJobListingsAsGitLab checks the two job listings against GitLab's
// Ci::JobsFinder: a pipeline's jobs include the ones still created and
// leave out retried ones unless include_retried; a project's jobs
// include retried ones and leave out created ones; both newest first.
func TestJobListingsAsGitLab(t *testing.T) {
	s, org, api := setup(t, 3)
	p := s.Projects()[0]
	pl, js := s.AddPipeline(p.ID, "running", "build", "test", "deploy")
	s.SetJobStatus(js[0].ID, "failed")
	s.SetJobStatus(js[1].ID, "created")
	s.SetJobStatus(js[2].ID, "created")
	again := s.RetryJob(js[0].ID, "running")
	ids := func(url string) []int64 {
		t.Helper()
		resp, body := get(t, url, org.AdminToken)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", url, resp.StatusCode, body)
		}
		var out []struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, j := range out {
			got = append(got, j.ID)
		}
		return got
	}
	want := func(name string, got []int64, ids ...int64) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Errorf("%s: %v, want %v", name, got, ids)
		}
	}
	pipelineJobs := fmt.Sprintf("%s/projects/%d/pipelines/%d/jobs", api, p.ID, pl.ID)
	want("pipeline jobs", ids(pipelineJobs), again.ID, js[2].ID, js[1].ID)
	want("pipeline jobs with retried ones", ids(pipelineJobs+"?include_retried=true"), again.ID, js[2].ID, js[1].ID, js[0].ID)
	var project []int64
	for _, id := range ids(fmt.Sprintf("%s/projects/%d/jobs?per_page=100", api, p.ID)) {
		if id >= pl.ID { // the generated activity's jobs are older
			project = append(project, id)
		}
	}
	want("project jobs", project, again.ID, js[0].ID)
	// One job by id is found whatever its status.
	want("created job by id", ids(fmt.Sprintf("%s/projects/%d/jobs?scope=created", api, p.ID)))
	resp, _ := get(t, fmt.Sprintf("%s/projects/%d/jobs/%d", api, p.ID, js[1].ID), org.AdminToken)
	if resp.StatusCode != 200 {
		t.Errorf("created job by id: %d", resp.StatusCode)
	}
}
