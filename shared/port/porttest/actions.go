package porttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Action runs as Port keeps them for an integration that processes
// actions (Ocean's actions processor): claim-pending leases pending runs
// (a claimed run is invisible to claims until its visibility timeout ends,
// then claimable again unless acknowledged), ack makes a run its
// acknowledger's for good (atomically: a second ack is 409), logs and
// patches report on it, and a finished run refuses further writes (422
// run_exhausted). The claim and ack routes are not in Port's public API
// reference; their shapes are Ocean's (port_ocean/clients/port/mixins/
// actions.py) and their lease semantics those Port documents for workflow
// node claims.

// ActionRun is a run as the simulator holds it.
type ActionRun struct {
	ID string
	// Action is the Port action's identifier (what claims exclude).
	Action string
	// InstallationID is the integration that may claim the run.
	InstallationID string
	// Type is payload.integrationActionType (the executor).
	Type string
	// Properties are payload.integrationActionExecutionProperties.
	Properties map[string]any
	// Status is IN_PROGRESS until a patch or a log finishes the run.
	Status        string
	Link          []string
	ExternalRunID string
	Logs          []string
	// Claims counts the times the run was handed out; Acked is set by
	// the first ack, AckConflicts counts the acks refused after it.
	Claims       int
	Acked        bool
	AckConflicts int
	ClaimedUntil time.Time
	CreatedAt    time.Time
	// Calls are the requests made about this run, in order, each as
	// "METHOD route body" (body in compact JSON, keys sorted).
	Calls []string
	// Reserved records, per call, whether it carried
	// x-port-reserved-usage: true.
	Reserved []bool
}

// NewRun is what CreateRun needs; the rest is Port's.
type NewRun struct {
	Action, InstallationID, Type string
	Properties                   map[string]any
	// Status, when set, is a status the run is created with (a malformed
	// run, or one already finished).
	Status string
	// PayloadType overrides "INTEGRATION_ACTION" (a malformed run).
	PayloadType string
}

type actionRuns struct {
	byID   map[string]*ActionRun
	order  []string
	payT   map[string]string
	next   int
	faults map[string][]int // route -> status codes to answer, one per request
}

// CreateRun adds a run as Port does when a user executes an integration
// action, and returns its id.
func (s *Server) CreateRun(n NewRun) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &s.actions
	if a.byID == nil {
		a.byID, a.payT, a.faults = map[string]*ActionRun{}, map[string]string{}, map[string][]int{}
	}
	a.next++
	id := fmt.Sprintf("r_%06d", a.next)
	st := n.Status
	if st == "" {
		st = "IN_PROGRESS"
	}
	props := map[string]any{}
	for k, v := range n.Properties {
		props[k] = v
	}
	a.byID[id] = &ActionRun{ID: id, Action: n.Action, InstallationID: n.InstallationID, Type: n.Type, Properties: props,
		Status: st, CreatedAt: time.Now()}
	a.order = append(a.order, id)
	if n.PayloadType != "" {
		a.payT[id] = n.PayloadType
	}
	return id
}

// Run returns a copy of a run.
func (s *Server) Run(id string) (ActionRun, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.actions.byID[id]
	if r == nil {
		return ActionRun{}, false
	}
	return copyRun(r), true
}

// ActionRuns returns copies of every run, oldest first.
func (s *Server) ActionRuns() []ActionRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ActionRun, 0, len(s.actions.order))
	for _, id := range s.actions.order {
		out = append(out, copyRun(s.actions.byID[id]))
	}
	return out
}

// FailActionRoute answers the next len(codes) requests of route (e.g.
// "PATCH /v1/actions/runs/ack", "POST /v1/actions/runs/claim-pending")
// with those status codes, without acting on them.
func (s *Server) FailActionRoute(route string, codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.actions.faults == nil {
		s.actions.byID, s.actions.payT, s.actions.faults = map[string]*ActionRun{}, map[string]string{}, map[string][]int{}
	}
	s.actions.faults[route] = append(s.actions.faults[route], codes...)
}

func copyRun(r *ActionRun) ActionRun {
	c := *r
	c.Link = append([]string(nil), r.Link...)
	c.Logs = append([]string(nil), r.Logs...)
	c.Calls = append([]string(nil), r.Calls...)
	c.Reserved = append([]bool(nil), r.Reserved...)
	return c
}

// runJSON is a run as GET /v1/actions/runs and claim-pending answer it
// (the fields Ocean reads, and Port's claim bookkeeping).
func (a *actionRuns) runJSON(r *ActionRun) map[string]any {
	pt := a.payT[r.ID]
	if pt == "" {
		pt = "INTEGRATION_ACTION"
	}
	var link any
	switch len(r.Link) {
	case 0:
	case 1:
		link = r.Link[0]
	default:
		link = r.Link
	}
	var ext any
	if r.ExternalRunID != "" {
		ext = r.ExternalRunID
	}
	return map[string]any{
		"id": r.ID, "status": r.Status, "action": map[string]any{"identifier": r.Action, "title": r.Action, "deleted": false},
		"properties": r.Properties, "link": link, "externalRunId": ext, "installationId": r.InstallationID,
		"pendingExecution": !r.Acked && r.Status == "IN_PROGRESS", "claimedUntil": r.ClaimedUntil.UTC().Format(time.RFC3339Nano),
		"source": "UI", "createdAt": r.CreatedAt.UTC().Format(time.RFC3339Nano),
		"payload": map[string]any{"type": pt, "installationId": r.InstallationID, "integrationActionType": r.Type,
			"integrationActionExecutionProperties": r.Properties},
	}
}

// record notes a call on a run (s.mu held).
func record(r *ActionRun, req *http.Request, route string, body []byte) {
	var v any
	line := route
	if len(body) > 0 && json.Unmarshal(body, &v) == nil {
		b, _ := json.Marshal(v) // maps marshal with sorted keys
		line += " " + string(b)
	}
	r.Calls = append(r.Calls, line)
	r.Reserved = append(r.Reserved, req.Header.Get("x-port-reserved-usage") == "true")
}

// decodeStrict decodes a body like Port's schemas (additionalProperties:
// false): an unknown key is refused.
func decodeStrict(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// serveActions answers /v1/actions/runs/... (rest is what follows runs).
func (s *Server) serveActions(w http.ResponseWriter, r *http.Request, rest []string) {
	rt := route(r.Method, r.URL.EscapedPath())
	var body []byte
	if r.Body != nil {
		b := new(bytes.Buffer)
		_, _ = b.ReadFrom(http.MaxBytesReader(w, r.Body, 1<<20))
		body = b.Bytes()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &s.actions
	if a.byID == nil {
		a.byID, a.payT, a.faults = map[string]*ActionRun{}, map[string]string{}, map[string][]int{}
	}
	if codes := a.faults[rt]; len(codes) > 0 {
		a.faults[rt] = codes[1:]
		fail(w, codes[0], "internal_error", http.StatusText(codes[0]))
		return
	}
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		a.list(w, r)
	case len(rest) == 1 && rest[0] == "claim-pending" && r.Method == http.MethodPost:
		a.claim(w, r, rt, body)
	case len(rest) == 1 && rest[0] == "ack" && r.Method == http.MethodPatch:
		a.ack(w, r, rt, body)
	case len(rest) == 1 && r.Method == http.MethodGet:
		run := a.byID[rest[0]]
		if run == nil {
			fail(w, http.StatusNotFound, "not_found", "Action run with id \""+rest[0]+"\" was not found")
			return
		}
		reply(w, http.StatusOK, map[string]any{"ok": true, "run": a.runJSON(run)})
	case len(rest) == 1 && r.Method == http.MethodPatch:
		a.patch(w, r, rt, rest[0], body)
	case len(rest) == 2 && rest[1] == "logs" && r.Method == http.MethodPost:
		a.log(w, r, rt, rest[0], body)
	default:
		fail(w, http.StatusNotFound, "not_found", "Route "+r.Method+" "+r.URL.Path+" was not found")
	}
}

func (a *actionRuns) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if v := q.Get("version"); v != "" && v != "v1" && v != "v2" {
		fail(w, http.StatusUnprocessableEntity, "invalid_request", "version must be v1 or v2")
		return
	}
	limit := 1000
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			fail(w, http.StatusUnprocessableEntity, "invalid_request", "limit must be between 1 and 1000")
			return
		}
		limit = n
	}
	out := []any{}
	for i := len(a.order) - 1; i >= 0 && len(out) < limit; i-- { // newest first
		run := a.byID[a.order[i]]
		if ext := q.Get("external_run_id"); ext != "" && run.ExternalRunID != ext {
			continue
		}
		if act := q.Get("active"); act != "" && (act == "true") != (run.Status == "IN_PROGRESS") {
			continue
		}
		out = append(out, a.runJSON(run))
	}
	reply(w, http.StatusOK, map[string]any{"ok": true, "runs": out})
}

func (a *actionRuns) claim(w http.ResponseWriter, r *http.Request, rt string, body []byte) {
	var in struct {
		InstallationID      string   `json:"installationId"`
		Limit               int      `json:"limit"`
		VisibilityTimeoutMs int      `json:"visibilityTimeoutMs"`
		Exclude             []string `json:"exclude"`
	}
	if err := decodeStrict(body, &in); err != nil || in.InstallationID == "" {
		fail(w, http.StatusUnprocessableEntity, "invalid_request", "The json provided does not match the route's schema: installationId is required")
		return
	}
	if in.Limit < 1 || in.Limit > 1000 || in.VisibilityTimeoutMs < 1000 || in.VisibilityTimeoutMs > 600000 {
		fail(w, http.StatusUnprocessableEntity, "invalid_request", "limit must be between 1 and 1000 and visibilityTimeoutMs between 1000 and 600000")
		return
	}
	excluded := map[string]bool{}
	for _, e := range in.Exclude {
		excluded[e] = true
	}
	now := time.Now()
	out := []any{}
	for _, id := range a.order {
		run := a.byID[id]
		if len(out) >= in.Limit {
			break
		}
		if run.InstallationID != in.InstallationID || run.Acked || run.Status != "IN_PROGRESS" || now.Before(run.ClaimedUntil) || excluded[run.Action] {
			continue
		}
		run.ClaimedUntil = now.Add(time.Duration(in.VisibilityTimeoutMs) * time.Millisecond)
		run.Claims++
		record(run, r, rt, nil)
		out = append(out, a.runJSON(run))
	}
	reply(w, http.StatusOK, map[string]any{"ok": true, "runs": out})
}

// found is the run a request names, with the request recorded on it; nil
// when there is no such run, after answering 404 as Port does.
func (a *actionRuns) found(w http.ResponseWriter, r *http.Request, rt, id string, body []byte) *ActionRun {
	run := a.byID[id]
	if run == nil {
		fail(w, http.StatusNotFound, "not_found", "Action run with id \""+id+"\" was not found")
		return nil
	}
	record(run, r, rt, body)
	return run
}

func (a *actionRuns) ack(w http.ResponseWriter, r *http.Request, rt string, body []byte) {
	var in struct {
		RunID string `json:"runId"`
	}
	if err := decodeStrict(body, &in); err != nil || in.RunID == "" {
		fail(w, http.StatusUnprocessableEntity, "invalid_request", "The json provided does not match the route's schema: runId is required")
		return
	}
	run := a.found(w, r, rt, in.RunID, body)
	if run == nil {
		return
	}
	if run.Acked || run.Status != "IN_PROGRESS" {
		run.AckConflicts++
		fail(w, http.StatusConflict, "run_already_acknowledged", "The action run was already acknowledged")
		return
	}
	run.Acked = true
	reply(w, http.StatusOK, map[string]any{"ok": true})
}

func (a *actionRuns) patch(w http.ResponseWriter, r *http.Request, rt, id string, body []byte) {
	run := a.found(w, r, rt, id, body)
	if run == nil {
		return
	}
	var in struct {
		Status        string `json:"status"`
		StatusLabel   string `json:"statusLabel"`
		Link          any    `json:"link"`
		Summary       string `json:"summary"`
		ExternalRunID string `json:"externalRunId"`
	}
	if err := decodeStrict(body, &in); err != nil {
		fail(w, http.StatusUnprocessableEntity, "invalid_request", "The json provided does not match the route's schema")
		return
	}
	if in.Status != "" && in.Status != "SUCCESS" && in.Status != "FAILURE" {
		fail(w, http.StatusUnprocessableEntity, "invalid_request", "status must be SUCCESS or FAILURE")
		return
	}
	if run.Status != "IN_PROGRESS" {
		fail(w, http.StatusUnprocessableEntity, "run_exhausted", "Action run already finished execution")
		return
	}
	switch l := in.Link.(type) {
	case string:
		run.Link = append(run.Link, l)
	case []any:
		for _, x := range l {
			if s, ok := x.(string); ok {
				run.Link = append(run.Link, s)
			}
		}
	}
	if in.ExternalRunID != "" {
		run.ExternalRunID = in.ExternalRunID
	}
	if in.Status != "" {
		run.Status = in.Status
	}
	reply(w, http.StatusOK, map[string]any{"ok": true, "run": a.runJSON(run)})
}

func (a *actionRuns) log(w http.ResponseWriter, r *http.Request, rt, id string, body []byte) {
	run := a.found(w, r, rt, id, body)
	if run == nil {
		return
	}
	var in struct {
		Message           *string `json:"message"`
		TerminationStatus string  `json:"terminationStatus"`
		StatusLabel       string  `json:"statusLabel"`
	}
	if err := decodeStrict(body, &in); err != nil || in.Message == nil {
		fail(w, http.StatusUnprocessableEntity, "invalid_request", "The json provided does not match the route's schema: message is required")
		return
	}
	if run.Status != "IN_PROGRESS" {
		fail(w, http.StatusUnprocessableEntity, "run_exhausted", "Action run already finished execution")
		return
	}
	run.Logs = append(run.Logs, *in.Message)
	if in.TerminationStatus == "SUCCESS" || in.TerminationStatus == "FAILURE" {
		run.Status = in.TerminationStatus
	}
	reply(w, http.StatusCreated, map[string]any{"ok": true, "runLog": map[string]any{"id": strconv.Itoa(len(run.Logs)), "runId": run.ID,
		"message": *in.Message, "createdAt": time.Now().UTC().Format(time.RFC3339Nano)}})
}
