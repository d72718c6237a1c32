package gitlabtest

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
)

// testHook serves POST /groups/:id/hooks/:hook_id/test/:trigger (GitLab
// 17.1+) and POST /projects/:id/hooks/:hook_id/test/:trigger: one delivery of the trigger's kind to the hook, even a disabled
// one, as "Test" in GitLab's UI does; a success resumes a hook GitLab had
// disabled, so a hook is re-enabled in place, keeping its id and its
// recent deliveries. The simulator tests push_events only: a push of the
// project (a group's first project) at its current head, which changes
// nothing.
func (s *Server) testHook(w http.ResponseWriter, r *http.Request, owner hookOwner, rest []string) {
	id, err := strconv.ParseInt(rest[0], 10, 64)
	s.lockW()
	h := s.hooks[id]
	if err != nil || h == nil || !owner.owns(h) {
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, hookNotFound)
		return
	}
	if rest[2] != "push_events" {
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "trigger does not have a valid value"})
		return
	}
	var projects []*Project
	for _, p := range s.projects {
		if p.ID == owner.project || owner.group != 0 && s.isDescendant(p.NamespaceID, owner.group) {
			projects = append(projects, p)
		}
	}
	if len(projects) == 0 {
		s.mu.Unlock()
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Ensure the group has projects."})
		return
	}
	sort.Slice(projects, func(i, j int) bool { return projects[i].ID < projects[j].ID })
	p := projects[0]
	if s.heads == nil {
		s.heads = map[int64]string{}
	}
	head := s.heads[p.ID]
	if head == "" {
		head = randSHA()
		s.snapshot(p.ID, head)
		s.heads[p.ID] = head
	}
	branch := p.DefaultBranch
	if branch == "" {
		branch = "main"
	}
	body := template("webhooks/push.json")
	for k, v := range map[string]any{
		"before": head, "after": head, "checkout_sha": head, "ref": "refs/heads/" + branch,
		"project_id": p.ID, "project": s.hookProject(p), "repository": s.repository(p),
	} {
		body[k] = v
	}
	hook := *h
	s.mu.Unlock()
	b, _ := json.Marshal(body)
	d := s.send(r.Context(), hook, "Push Hook", newUUID(), b)
	if d.Err != nil || d.Status >= 400 {
		msg := "Hook execution failed"
		if d.Err != nil {
			msg += ": " + d.Err.Error()
		} else {
			msg += ": " + strconv.Itoa(d.Status)
		}
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": msg})
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": "201 Created"})
}
