package gitlabtest

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// ControlPrefix is where the simulator's control API lives: a path GitLab
// itself does not serve (its "/-/" paths are UI routes, never under the
// API), so a client of the simulated GitLab cannot reach it by mistake.
// It changes the instance and sends webhooks, so it answers only to the
// instance's admin tokens (PRIVATE-TOKEN or Authorization: Bearer, as
// the API), or only to the one SetControlToken set: 401 without such a
// token, 403 for a group access token.
// Faults, rate limits and request counters do not apply to it: they
// simulate GitLab's API, and a test harness is not a client of it.
const ControlPrefix = "/-/simulate/"

// EventKinds are the events the control API makes, in the order its help
// lists them.
var EventKinds = []string{"push", "branch-create", "branch-delete", "merge-request", "issue", "pipeline", "project"}

// ControlEvent is the JSON body of POST /-/simulate/events/{kind}. Each
// kind reads the fields its case in doEvent names; unknown fields are
// refused, so a misspelt one is not silently ignored.
type ControlEvent struct {
	// Project is a path with namespace ("acme/DevopsTeam/PaymentService")
	// or a numeric id; every kind but project needs it.
	Project string `json:"project,omitempty"`
	// Group is the full path of the group a project is created in.
	Group string `json:"group,omitempty"`
	// Name is the new project's name (project).
	Name string `json:"name,omitempty"`
	// Title of a merge request or issue.
	Title string `json:"title,omitempty"`
	// File, Content and Remove make a push commit one file: Content
	// written to File, or File removed.
	File    string `json:"file,omitempty"`
	Content string `json:"content,omitempty"`
	Remove  bool   `json:"remove,omitempty"`
	// Branch of branch-create and branch-delete; Ref of a pipeline.
	Branch string `json:"branch,omitempty"`
	Ref    string `json:"ref,omitempty"`
	// Action of a merge request: open (default), merge, close, reopen;
	// all but open name the merge request by IID.
	Action string `json:"action,omitempty"`
	IID    int64  `json:"iid,omitempty"`
	// Status a pipeline finished with (default success).
	Status string `json:"status,omitempty"`
}

// ControlResult is the control API's answer: what changed and each
// webhook delivery it made.
type ControlResult struct {
	Kind string `json:"kind"`
	// Summary says what changed, in words ("opened merge request !3 …").
	Summary    string            `json:"summary"`
	Deliveries []ControlDelivery `json:"deliveries"`
}

// ControlDelivery is one webhook request, as GitLab's hook log shows it.
type ControlDelivery struct {
	HookID int64 `json:"hook_id"`
	// Hook is "group <full path>", "system", or "deleted since" for a
	// hook removed while the delivery was under way.
	Hook   string `json:"hook"`
	URL    string `json:"url"`
	Event  string `json:"event"`
	UUID   string `json:"uuid"`
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
}

// SetControlToken makes v the only token the control API takes (as
// PRIVATE-TOKEN or Authorization: Bearer); empty, it takes any admin
// token again. A seeded organisation's tokens follow from its seed, so a
// simulator that others can reach sets one they cannot guess.
func (s *Server) SetControlToken(v string) {
	s.lockW()
	s.controlToken = v
	s.mu.Unlock()
}

// controlAllowed applies SetControlToken's rule (s.mu not held).
func (s *Server) controlAllowed(r *http.Request) bool {
	s.mu.RLock()
	want := s.controlToken
	s.mu.RUnlock()
	if want == "" {
		return true
	}
	got := r.Header.Get("PRIVATE-TOKEN")
	if got == "" {
		got, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// serveControl answers the control API: POST events/{kind}.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	tok := s.authenticate(r)
	if tok == nil || !s.controlAllowed(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized: the control API needs the simulator's admin token"})
		return
	}
	if tok.Kind != AdminToken {
		writeJSON(w, http.StatusForbidden, map[string]any{"message": "403 Forbidden: the control API needs the simulator's admin token"})
		return
	}
	kind, ok := strings.CutPrefix(strings.TrimPrefix(r.URL.Path, ControlPrefix), "events/")
	if !ok || kind == "" || strings.Contains(kind, "/") {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found: POST " + ControlPrefix + "events/{" + strings.Join(EventKinds, ",") + "}"})
		return
	}
	if r.Method != http.MethodPost {
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "405 Method Not Allowed"})
		return
	}
	var ev ControlEvent
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil && !errors.Is(err, io.EOF) {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "body: " + err.Error()})
		return
	}
	// Deliveries outlive a client that hangs up: the change is made, so
	// its webhooks go out, as GitLab's would.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
	defer cancel()
	summary, ds, code, err := s.doEvent(ctx, kind, ev)
	if err != nil {
		writeJSON(w, code, map[string]any{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusCreated, ControlResult{Kind: kind, Summary: summary, Deliveries: s.describe(ds)})
}

// doEvent makes one event. It answers the HTTP status of a refusal.
func (s *Server) doEvent(ctx context.Context, kind string, ev ControlEvent) (string, []Delivery, int, error) {
	if kind == "project" {
		// project: Name in Group, created with a README (project_create,
		// then the push of its first commit).
		if ev.Group == "" || ev.Name == "" {
			return "", nil, http.StatusBadRequest, errors.New("project: group and name are needed")
		}
		g := s.Group(ev.Group)
		if g == nil {
			return "", nil, http.StatusNotFound, fmt.Errorf("project: group %q does not exist", ev.Group)
		}
		if s.FindProject(g.FullPath+"/"+slug(ev.Name)) != 0 {
			return "", nil, http.StatusConflict, fmt.Errorf("project: %s/%s already exists", g.FullPath, slug(ev.Name))
		}
		p, ds := s.CreateProject(ctx, g, ev.Name)
		return fmt.Sprintf("created project %s/%s (id %d) with a README", g.FullPath, p.Path, p.ID), ds, 0, nil
	}
	if !slices.Contains(EventKinds, kind) {
		return "", nil, http.StatusNotFound, fmt.Errorf("unknown event kind %q: want one of %s", kind, strings.Join(EventKinds, ", "))
	}
	if ev.Project == "" {
		return "", nil, http.StatusBadRequest, fmt.Errorf("%s: project is needed", kind)
	}
	id := s.FindProject(ev.Project)
	if id == 0 {
		return "", nil, http.StatusNotFound, fmt.Errorf("%s: project %q does not exist", kind, ev.Project)
	}
	s.mu.RLock()
	pwn, archived := s.pathOf(id), s.projects[id].Archived
	s.mu.RUnlock()
	if archived {
		// GitLab makes an archived project read-only.
		return "", nil, http.StatusForbidden, fmt.Errorf("%s: project %s is archived (read-only)", kind, pwn)
	}
	refused := func(err error) (string, []Delivery, int, error) {
		return "", nil, http.StatusUnprocessableEntity, fmt.Errorf("%s: %w", kind, err)
	}
	switch kind {
	case "push":
		// push: a commit on the default branch; with File, it writes
		// Content there (a line naming the time when empty) or, with
		// Remove, deletes it.
		if ev.File == "" {
			return "pushed a commit to " + pwn, s.Push(ctx, id), 0, nil
		}
		content := ev.Content
		switch {
		case ev.Remove:
			content = ""
		case content == "":
			content = "updated by the GitLab simulator at " + time.Now().UTC().Format(time.RFC3339Nano) + "\n"
		}
		verb := "wrote"
		if ev.Remove {
			verb = "removed"
		}
		return fmt.Sprintf("pushed a commit to %s that %s %s", pwn, verb, ev.File), s.PushFile(ctx, id, ev.File, content), 0, nil
	case "branch-create":
		ds, err := s.CreateBranch(ctx, id, ev.Branch)
		if err != nil {
			return refused(err)
		}
		return fmt.Sprintf("created branch %s in %s", ev.Branch, pwn), ds, 0, nil
	case "branch-delete":
		ds, err := s.DeleteBranch(ctx, id, ev.Branch)
		if err != nil {
			return refused(err)
		}
		return fmt.Sprintf("deleted branch %s of %s", ev.Branch, pwn), ds, 0, nil
	case "merge-request":
		if ev.Action == "" || ev.Action == "open" {
			title := ev.Title
			if title == "" {
				title = "Change made with the GitLab simulator"
			}
			mr, ds := s.OpenMergeRequest(ctx, id, title)
			return fmt.Sprintf("opened merge request !%d (id %d) in %s from %s", mr.IID, mr.ID, pwn, mr.SourceBranch), ds, 0, nil
		}
		mrID := s.mergeRequestByIID(id, ev.IID)
		if mrID == 0 {
			return "", nil, http.StatusNotFound, fmt.Errorf("merge-request: %s has no merge request !%d", pwn, ev.IID)
		}
		mr, ds, err := s.ChangeMergeRequest(ctx, mrID, ev.Action)
		if err != nil {
			return refused(err)
		}
		return fmt.Sprintf("merge request !%d (id %d) of %s is now %s", mr.IID, mr.ID, pwn, mr.State), ds, 0, nil
	case "issue":
		title := ev.Title
		if title == "" {
			title = "Issue opened with the GitLab simulator"
		}
		is, ds := s.OpenIssue(ctx, id, title)
		return fmt.Sprintf("opened issue #%d (id %d) in %s", is.IID, is.ID, pwn), ds, 0, nil
	case "pipeline":
		pl, ds, err := s.RunPipeline(ctx, id, ev.Ref, ev.Status)
		if err != nil {
			return refused(err)
		}
		return fmt.Sprintf("ran pipeline %d on %s of %s: %s", pl.ID, pl.Ref, pwn, pl.Status), ds, 0, nil
	}
	return "", nil, http.StatusNotFound, fmt.Errorf("unknown event kind %q", kind)
}

// mergeRequestByIID is the id of a project's merge request, 0 if none.
func (s *Server) mergeRequestByIID(projectID, iid int64) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, m := range s.mrs {
		if m.ProjectID == projectID && m.IID == iid {
			return m.ID
		}
	}
	return 0
}

// describe names each delivery's hook: its group's path, or system.
func (s *Server) describe(ds []Delivery) []ControlDelivery {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]ControlDelivery, 0, len(ds))
	for _, d := range ds {
		cd := ControlDelivery{HookID: d.HookID, Hook: "system", URL: d.URL, Event: d.Event, UUID: d.UUID, Status: d.Status}
		switch h := s.hooks[d.HookID]; {
		case h == nil:
			cd.Hook = "deleted since"
		case h.ProjectID != 0:
			cd.Hook = fmt.Sprintf("project %d", h.ProjectID)
		case h.GroupID != 0:
			cd.Hook = fmt.Sprintf("group %d", h.GroupID)
			if g := s.groups[h.GroupID]; g != nil {
				cd.Hook = "group " + g.FullPath
			}
		}
		if d.Err != nil {
			cd.Error = d.Err.Error()
		}
		out = append(out, cd)
	}
	return out
}

// SendEvent asks the simulator at baseURL, through its control API, to
// make an event of kind, authenticating with the simulator's admin
// token. It is the client of `glsyncd simulate event`.
func SendEvent(ctx context.Context, baseURL, adminToken, kind string, ev ControlEvent) (ControlResult, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return ControlResult{}, fmt.Errorf("simulate event: %w", err)
	}
	u := strings.TrimRight(baseURL, "/") + ControlPrefix + "events/" + kind
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return ControlResult{}, fmt.Errorf("simulate event: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("PRIVATE-TOKEN", adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ControlResult{}, fmt.Errorf("simulate event: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return ControlResult{}, fmt.Errorf("simulate event: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		var e struct{ Error, Message string }
		_ = json.Unmarshal(b, &e)
		msg := e.Error + e.Message
		if msg == "" {
			msg = strings.TrimSpace(string(b))
		}
		return ControlResult{}, fmt.Errorf("simulate event: %s answered %d: %s", u, resp.StatusCode, msg)
	}
	var res ControlResult
	if err := json.Unmarshal(b, &res); err != nil {
		return ControlResult{}, fmt.Errorf("simulate event: the answer: %w", err)
	}
	return res, nil
}
