package gitlabtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// POST /groups/:id/hooks/:hook_id/test/push_events delivers a push to a
// paused hook and, when it is accepted, resumes the hook in place; a
// refused one is a 422 and a failure more, as in GitLab.
func TestTestHookResumesInPlace(t *testing.T) {
	s := New(Options{Seed: 1})
	org := s.Generate(OrgSpec{Roots: 1, Projects: 3, Depth: 1, Seed: 1})
	ts := s.Start(t)
	var answer atomic.Int32
	answer.Store(http.StatusServiceUnavailable)
	var events atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Gitlab-Event") == "Push Hook" {
			events.Add(1)
		}
		w.WriteHeader(int(answer.Load()))
	}))
	defer recv.Close()
	gid := org.Roots[0].ID
	h := s.AddHook(Hook{GroupID: gid, URL: recv.URL, Events: map[string]bool{"push_events": true}})
	s.EditHook(h.ID, func(h *Hook) {
		h.AlertStatus, h.DisabledUntil, h.Failures = "temporarily_disabled", time.Now().Add(time.Minute), 4
	})
	post := func() int {
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v4/groups/%d/hooks/%d/test/push_events", ts.URL, gid, h.ID), strings.NewReader(""))
		req.Header.Set("PRIVATE-TOKEN", org.RootTokens[0])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(); code != http.StatusUnprocessableEntity || s.Hooks()[0].AlertStatus != "temporarily_disabled" || s.Hooks()[0].Failures != 5 {
		t.Fatalf("refused test: %d %+v", code, s.Hooks()[0])
	}
	answer.Store(http.StatusAccepted)
	if code := post(); code != http.StatusCreated {
		t.Fatalf("accepted test: %d", code)
	}
	if got := s.Hooks(); len(got) != 1 || got[0].ID != h.ID || got[0].AlertStatus != "executable" || got[0].Failures != 0 {
		t.Fatalf("not resumed in place: %+v", got)
	}
	if events.Load() != 2 || len(s.Deliveries()) != 2 {
		t.Fatalf("%d pushes received, %d deliveries recorded", events.Load(), len(s.Deliveries()))
	}
}
