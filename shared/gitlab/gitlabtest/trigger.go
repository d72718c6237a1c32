package gitlabtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Pipelines created through the API (POST /projects/:id/pipeline), as a
// Port action run triggers them, and finished later by a test or the
// demo with FinishPipeline, which delivers the "Pipeline Hook" GitLab
// sends.

// createPipeline serves POST /projects/:id/pipeline: {ref, variables:
// [{key, value[, variable_type]}]}. GitLab answers 201 with the pipeline
// (status created), 400 {"message":{"base":["Reference not found"]}}
// for a ref the project does not have, 400 {"error":"ref is missing"}
// without one, and 404 for a project the token cannot see.
func (s *Server) createPipeline(w http.ResponseWriter, r *http.Request, tok *Token, id string) {
	var in struct {
		Ref       string `json:"ref"`
		Variables []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"variables"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "variables is invalid"})
		return
	}
	if in.Ref == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "ref is missing"})
		return
	}
	s.lockW()
	p := s.findProject(tok, id)
	if p == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, projNotFound)
		return
	}
	if tok.Kind == GroupAccessToken && tok.AccessLevel != 0 && tok.AccessLevel < 30 {
		s.mu.Unlock()
		writeJSON(w, http.StatusForbidden, forbidden) // creating a pipeline takes the Developer role
		return
	}
	pwn := s.pathOf(p.ID)
	if !s.hasBranch(p, in.Ref) {
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"base": []string{"Reference not found"}}})
		return
	}
	s.obj.init()
	now := time.Now().UTC()
	pl := &Pipeline{ID: s.obj.id(), ProjectID: p.ID, Ref: in.Ref, SHA: s.branchCommit(p, pwn, in.Ref), Status: "created", Source: "api",
		CreatedAt: now, UpdatedAt: now, IID: s.nextIID("pipeline", p.ID)}
	s.obj.pipelines[pl.ID] = pl
	vars := map[string]string{}
	for _, v := range in.Variables {
		vars[v.Key] = v.Value
	}
	s.triggered = append(s.triggered, TriggeredPipeline{PipelineID: pl.ID, ProjectID: p.ID, Ref: in.Ref, Variables: vars, Token: tok.Value})
	body := s.pipelineJSON(pl)
	s.mu.Unlock()
	body["before_sha"] = "0000000000000000000000000000000000000000"
	body["tag"] = false
	body["yaml_errors"] = nil
	body["user"] = map[string]any{"id": tok.UserID, "username": "glsync"}
	body["started_at"], body["finished_at"], body["committed_at"] = nil, nil, nil
	body["duration"], body["queued_duration"], body["coverage"] = nil, nil, nil
	body["detailed_status"] = map[string]any{"icon": "status_created", "text": "Created", "label": "created", "group": "created"}
	writeJSON(w, http.StatusCreated, body)
}

// TriggeredPipeline is a pipeline created through the API: what was
// asked, and with which token.
type TriggeredPipeline struct {
	PipelineID, ProjectID int64
	Ref                   string
	Variables             map[string]string
	Token                 string
}

// TriggeredPipelines returns the pipelines created through the API, in
// order.
func (s *Server) TriggeredPipelines() []TriggeredPipeline {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]TriggeredPipeline(nil), s.triggered...)
}

// FinishPipeline moves a pipeline to status (running, or a terminal
// success, failed, canceled or skipped) and delivers its "Pipeline Hook".
func (s *Server) FinishPipeline(ctx context.Context, pipelineID int64, status string) ([]Delivery, error) {
	switch status {
	case "pending", "running", "success", "failed", "canceled", "skipped", "manual":
	default:
		return nil, fmt.Errorf("pipeline status %q: want pending, running, success, failed, canceled, skipped or manual", status)
	}
	s.lockW()
	pl := s.obj.pipelines[pipelineID]
	if pl == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("pipeline %d does not exist", pipelineID)
	}
	pl.Status, pl.UpdatedAt = status, time.Now().UTC()
	s.mu.Unlock()
	return s.PipelineEvent(ctx, pipelineID), nil
}
