package gitlabtest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func post(t *testing.T, u, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewBufferString(body))
	req.Header.Set("PRIVATE-TOKEN", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// TestCreatePipeline: POST /projects/:id/pipeline answers as GitLab (201
// with id, project_id, web_url, status created; 400 for an unknown ref or
// none; 404 for a project the token cannot see), records the variables
// and the token, and FinishPipeline delivers the Pipeline Hook with the
// pipeline's id, project and final status.
func TestCreatePipeline(t *testing.T) {
	s, org, api := setup(t, 10)
	rcv, got := receiver(t)
	root := org.Roots[0]
	var proj ProjectInfo
	for _, p := range s.Projects() {
		if strings.HasPrefix(p.PathWithNamespace, root.Path+"/") {
			proj = p
			break
		}
	}
	s.AddHook(Hook{GroupID: root.ID, URL: rcv.URL + "/integration/hook/1", Token: "sekret", Events: map[string]bool{"pipeline_events": true}})
	tok := org.RootTokens[0]
	u := api + "/projects/" + url.PathEscape(proj.PathWithNamespace) + "/pipeline"
	code, body := post(t, u, tok, `{"ref":"main","variables":[{"key":"ENV","value":"prod"}]}`)
	if code != http.StatusCreated || body["status"] != "created" || body["project_id"] != float64(proj.ID) ||
		!strings.HasSuffix(body["web_url"].(string), "/"+proj.PathWithNamespace+"/-/pipelines/"+jsonInt(body["id"])) {
		t.Fatalf("create: %d %v", code, body)
	}
	tp := s.TriggeredPipelines()
	if len(tp) != 1 || tp[0].Variables["ENV"] != "prod" || tp[0].Token != tok || tp[0].Ref != "main" {
		t.Fatalf("recorded: %+v", tp)
	}
	if code, body = post(t, u, tok, `{"ref":"nope"}`); code != http.StatusBadRequest || jsonString(body["message"]) != `{"base":["Reference not found"]}` {
		t.Fatalf("unknown ref: %d %v", code, body)
	}
	if code, body = post(t, u, tok, `{}`); code != http.StatusBadRequest || body["error"] != "ref is missing" {
		t.Fatalf("no ref: %d %v", code, body)
	}
	if code, _ = post(t, u, org.RootTokens[1], `{"ref":"main"}`); code != http.StatusNotFound {
		t.Fatalf("other root's token: %d", code)
	}
	ds, err := s.FinishPipeline(context.Background(), tp[0].PipelineID, "failed")
	if err != nil || len(ds) != 1 {
		t.Fatalf("finish: %v %v", ds, err)
	}
	c := got()
	attrs, _ := c[0].body["object_attributes"].(map[string]any)
	project, _ := c[0].body["project"].(map[string]any)
	if c[0].header.Get("X-Gitlab-Event") != "Pipeline Hook" || attrs["status"] != "failed" || attrs["id"] != float64(tp[0].PipelineID) ||
		project["id"] != float64(proj.ID) || c[0].body["object_kind"] != "pipeline" {
		t.Fatalf("hook: %v %v", c[0].header, c[0].body)
	}
	if _, err := s.FinishPipeline(context.Background(), tp[0].PipelineID, "bogus"); err == nil {
		t.Fatal("a status GitLab does not have was accepted")
	}
}

func jsonInt(v any) string    { b, _ := json.Marshal(v); return string(b) }
func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }
