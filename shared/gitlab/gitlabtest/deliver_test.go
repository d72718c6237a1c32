package gitlabtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

type captured struct {
	header http.Header
	body   map[string]any
}

func receiver(t *testing.T) (*httptest.Server, func() []captured) {
	var mu sync.Mutex
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		got = append(got, captured{r.Header.Clone(), m})
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []captured { mu.Lock(); defer mu.Unlock(); return append([]captured(nil), got...) }
}

func TestDeliveries(t *testing.T) {
	s, org, _ := setup(t, 30)
	rcv, got := receiver(t)
	root := org.Roots[0]
	s.mu.Lock()
	s.hooks[1] = &Hook{ID: 1, GroupID: root.ID, URL: rcv.URL + "/integration/hook/" + strconv.FormatInt(root.ID, 10), Token: "sekret",
		Events: map[string]bool{"push_events": true, "merge_requests_events": true, "subgroup_events": true}}
	s.hooks[2] = &Hook{ID: 2, URL: rcv.URL + "/integration/system/hook", Token: "sys", Events: map[string]bool{"push_events": true}}
	s.mu.Unlock()

	var proj ProjectInfo
	for _, p := range s.Projects() {
		if p.NamespaceID != root.ID && len(p.PathWithNamespace) > 0 && p.PathWithNamespace[:len(root.Path)] == root.Path {
			proj = p
			break
		}
	}
	ds := s.Push(context.Background(), proj.ID)
	if len(ds) != 2 || ds[0].Status != 202 || ds[1].Status != 202 {
		t.Fatalf("push deliveries: %v", ds)
	}
	c := got()
	group := c[0]
	if group.header.Get("X-Gitlab-Event") != "Push Hook" || group.header.Get("X-Gitlab-Token") != "sekret" ||
		group.header.Get("X-Gitlab-Event-UUID") == "" || group.header.Get("Idempotency-Key") != group.header.Get("X-Gitlab-Event-UUID") ||
		group.header.Get("X-Gitlab-Instance") == "" {
		t.Fatalf("group delivery headers: %v", group.header)
	}
	if group.body["object_kind"] != "push" || group.body["project_id"].(float64) != float64(proj.ID) ||
		group.body["project"].(map[string]any)["path_with_namespace"] != proj.PathWithNamespace {
		t.Fatalf("push body: %v", group.body)
	}
	if c[1].header.Get("X-Gitlab-Event") != "System Hook" || c[1].body["event_name"] != "push" || c[1].header.Get("X-Gitlab-Token") != "sys" {
		t.Fatalf("system delivery: %v %v", c[1].header, c[1].body["event_name"])
	}
	// A redelivery keeps the UUID.
	again := s.Redeliver(context.Background(), ds[0])
	if again.UUID != ds[0].UUID || again.Status != 202 {
		t.Fatalf("redeliver: %v", again)
	}

	mr := s.AddMergeRequest(proj.ID, "Add metrics")
	ds = s.MergeRequestEvent(context.Background(), mr.ID, "open")
	if len(ds) != 1 { // the system hook does not enable merge requests
		t.Fatalf("mr deliveries: %v", ds)
	}
	last := got()[len(got())-1]
	attrs := last.body["object_attributes"].(map[string]any)
	if last.header.Get("X-Gitlab-Event") != "Merge Request Hook" || attrs["iid"].(float64) != float64(mr.IID) || attrs["action"] != "open" {
		t.Fatalf("mr delivery: %v", attrs)
	}
	sub, ds := s.CreateSubgroup(context.Background(), root, "NewTeam")
	if len(ds) != 1 || got()[len(got())-1].body["event_name"] != "subgroup_create" || got()[len(got())-1].body["group_id"].(float64) != float64(sub.ID) {
		t.Fatalf("subgroup delivery: %v", ds)
	}
	ds = s.DestroyProject(context.Background(), proj.ID)
	if len(ds) != 1 || got()[len(got())-1].body["event_name"] != "project_destroy" {
		t.Fatalf("project_destroy: %v", ds)
	}
}

func TestMergeRequestEndpoints(t *testing.T) {
	s, org, api := setup(t, 60)
	mrs := s.MergeRequests()
	if len(mrs) == 0 {
		t.Fatal("the generator should open merge requests")
	}
	m := mrs[0]
	resp, body := get(t, api+"/projects/"+strconv.FormatInt(m.ProjectID, 10)+"/merge_requests/"+strconv.FormatInt(m.IID, 10), org.AdminToken)
	var got map[string]any
	_ = json.Unmarshal(body, &got)
	if resp.StatusCode != 200 || got["iid"].(float64) != float64(m.IID) || got["references"].(map[string]any)["full"] == "" {
		t.Fatalf("get mr: %d %v", resp.StatusCode, got)
	}
	total := 0
	for i, root := range org.Roots {
		_, body = get(t, api+"/groups/"+root.Path+"/merge_requests?state=all&per_page=100", org.RootTokens[i])
		total += len(decodeList(t, body))
	}
	if total != len(mrs) {
		t.Fatalf("group listings: %d, want %d", total, len(mrs))
	}
	_, body = get(t, api+"/groups/"+org.Roots[0].Path+"/merge_requests?state=merged&per_page=100", org.RootTokens[0])
	for _, x := range decodeList(t, body) {
		if x["state"] != "merged" {
			t.Fatalf("state filter: %v", x["state"])
		}
	}
}
