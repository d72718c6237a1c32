package gitlabtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

// payloads are real GitLab webhook and system hook bodies (see
// payloads/SOURCES.md). Deliveries start from them and put the simulated
// objects' values in, so every field GitLab sends is there.
//
//go:embed payloads
var payloads embed.FS

func template(name string) map[string]any {
	b, err := payloads.ReadFile(path.Join("payloads", name))
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(fmt.Sprintf("%s: %v", name, err))
	}
	return m
}

// Delivery is one webhook request the simulator sent.
type Delivery struct {
	HookID int64
	URL    string
	Event  string // X-Gitlab-Event
	UUID   string // X-Gitlab-Event-UUID, also Idempotency-Key
	Body   []byte
	Token  string
	Status int // 0 when the request failed
	Err    error
	// Header is every header sent, webhook-signature included, so a
	// test can replay the delivery as an attacker who captured it.
	Header http.Header
}

// hookEventFlag maps an X-Gitlab-Event to the hook flag that enables it.
var hookEventFlag = map[string]string{
	"Push Hook":               "push_events",
	"Tag Push Hook":           "tag_push_events",
	"Merge Request Hook":      "merge_requests_events",
	"Subgroup Hook":           "subgroup_events",
	"Member Hook":             "member_events",
	"Issue Hook":              "issues_events",
	"Confidential Issue Hook": "confidential_issues_events",
	"Pipeline Hook":           "pipeline_events",
	"Job Hook":                "job_events",
	"Release Hook":            "releases_events",
	"Project Hook":            "project_events",
	"Deployment Hook":         "deployment_events",
}

// systemEventFlag maps system hook event_name values to the flag that
// enables them; events without a flag are always sent.
var systemEventFlag = map[string]string{
	"push":              "push_events",
	"tag_push":          "tag_push_events",
	"merge_request":     "merge_requests_events",
	"repository_update": "repository_update_events",
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// send POSTs one delivery with GitLab's headers.
func (s *Server) send(ctx context.Context, h Hook, event, uuid string, body []byte) Delivery {
	d := Delivery{HookID: h.ID, URL: h.URL, Event: event, UUID: uuid, Body: body, Token: h.Token}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(body))
	if err != nil {
		d.Err = err
		return d
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitLab/17.6.0")
	req.Header.Set("X-Gitlab-Event", event)
	req.Header.Set("X-Gitlab-Instance", s.baseURL)
	req.Header.Set("X-Gitlab-Webhook-UUID", fmt.Sprintf("00000000-0000-4000-8000-%012d", h.ID))
	req.Header.Set("X-Gitlab-Event-UUID", uuid)
	req.Header.Set("Idempotency-Key", uuid)
	if h.Token != "" {
		req.Header.Set("X-Gitlab-Token", h.Token)
	}
	s.sign(req, h, uuid, body)
	d.Header = req.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// GitLab records a failed delivery too (the hook's "Recent events").
		d.Err = err
		s.deliveryResult(h.ID, false)
		s.deliverM.Lock()
		s.deliveries = append(s.deliveries, d)
		s.deliverM.Unlock()
		return d
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d.Status = resp.StatusCode
	s.deliveryResult(h.ID, resp.StatusCode < 400)
	s.deliverM.Lock()
	s.deliveries = append(s.deliveries, d)
	s.deliverM.Unlock()
	return d
}

// deliveryResult applies GitLab's auto-disabling of failing hooks: 4
// failed deliveries in a row disable a hook temporarily (1 minute, doubling
// with each further failure, at most a day), 40 for good; a success
// resets the count.
func (s *Server) deliveryResult(id int64, ok bool) {
	s.lockW()
	defer s.mu.Unlock()
	h := s.hooks[id]
	if h == nil {
		return
	}
	if ok {
		h.Failures, h.AlertStatus, h.DisabledUntil = 0, "executable", time.Time{}
		return
	}
	h.Failures++
	switch {
	case h.Failures >= 40:
		h.AlertStatus, h.DisabledUntil = "disabled", time.Time{}
	case h.Failures >= 4:
		backoff := time.Minute << min(h.Failures-4, 10)
		if backoff > 24*time.Hour {
			backoff = 24 * time.Hour
		}
		h.AlertStatus, h.DisabledUntil = "temporarily_disabled", time.Now().Add(backoff)
	}
}

// Redeliver sends a delivery again with the same UUID, as GitLab does when
// a delivery is resent from its UI or retried.
func (s *Server) Redeliver(ctx context.Context, d Delivery) Delivery {
	s.mu.RLock()
	h, ok := s.hooks[d.HookID]
	var hook Hook
	if ok {
		hook = *h
	}
	s.mu.RUnlock()
	if !ok {
		return Delivery{Err: fmt.Errorf("hook %d is gone", d.HookID)}
	}
	return s.send(ctx, hook, d.Event, d.UUID, d.Body)
}

// Deliveries returns every delivery sent so far.
func (s *Server) Deliveries() []Delivery {
	s.deliverM.Lock()
	defer s.deliverM.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// fire sends an event to the hooks of group groupID and its ancestors that
// enable it (none when groupID is 0), and to the system hooks that enable
// systemName (when not empty).
func (s *Server) fire(ctx context.Context, groupID int64, event string, body map[string]any, systemName string, systemBody map[string]any) []Delivery {
	s.mu.RLock()
	var targets []Hook
	var system []Hook
	for _, h := range s.hooks {
		if h.AlertStatus == "disabled" || h.AlertStatus == "temporarily_disabled" && time.Now().Before(h.DisabledUntil) {
			continue // GitLab does not deliver to a disabled hook
		}
		switch {
		case h.ProjectID != 0:
			if h.ProjectID == payloadProject(body) && h.Events[projectHookFlag(event)] {
				targets = append(targets, *h)
			}
		case h.GroupID == 0:
			if systemName != "" {
				if flag, ok := systemEventFlag[systemName]; !ok || h.Events[flag] {
					system = append(system, *h)
				}
			}
		case groupID != 0 && s.isDescendant(groupID, h.GroupID) && h.Events[hookEventFlag[event]]:
			targets = append(targets, *h)
		}
	}
	s.mu.RUnlock()
	sort.Slice(targets, func(i, j int) bool { return targets[i].ID < targets[j].ID })
	var out []Delivery
	if len(targets) > 0 {
		b, _ := json.Marshal(body)
		for _, h := range targets {
			out = append(out, s.send(ctx, h, event, newUUID(), b))
		}
	}
	if len(system) > 0 {
		b, _ := json.Marshal(systemBody)
		for _, h := range system {
			out = append(out, s.send(ctx, h, "System Hook", newUUID(), b))
		}
	}
	return out
}

// hookProject is the project object of push and merge request payloads.
func (s *Server) hookProject(p *Project) map[string]any {
	ns := s.groups[p.NamespaceID]
	pwn := ns.FullPath + "/" + p.Path
	vis := map[string]int{"private": 0, "internal": 10, "public": 20}[p.Visibility]
	return map[string]any{
		"id": p.ID, "name": p.Name, "description": p.Description, "web_url": s.webURL(pwn), "avatar_url": nil,
		"git_ssh_url": fmt.Sprintf("git@%s:%s.git", s.hostname(), pwn), "git_http_url": s.webURL(pwn + ".git"),
		"namespace": ns.Name, "visibility_level": vis, "path_with_namespace": pwn, "default_branch": p.DefaultBranch,
		"ci_config_path": nil, "homepage": s.webURL(pwn), "url": fmt.Sprintf("git@%s:%s.git", s.hostname(), pwn),
		"ssh_url": fmt.Sprintf("git@%s:%s.git", s.hostname(), pwn), "http_url": s.webURL(pwn + ".git"),
	}
}

func (s *Server) repository(p *Project) map[string]any {
	pwn := s.groups[p.NamespaceID].FullPath + "/" + p.Path
	vis := map[string]int{"private": 0, "internal": 10, "public": 20}[p.Visibility]
	return map[string]any{
		"name": p.Name, "url": fmt.Sprintf("git@%s:%s.git", s.hostname(), pwn), "description": p.Description,
		"homepage": s.webURL(pwn), "git_http_url": s.webURL(pwn + ".git"),
		"git_ssh_url": fmt.Sprintf("git@%s:%s.git", s.hostname(), pwn), "visibility_level": vis,
	}
}

func randSHA() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// PushFile commits one file to the default branch (content "" removes
// it) and delivers the push, with the file in the commit's added,
// modified or removed list as GitLab reports it.
func (s *Server) PushFile(ctx context.Context, projectID int64, filePath, content string) []Delivery {
	change := map[string]any{"added": []any{}, "modified": []any{}, "removed": []any{}}
	return s.push(ctx, projectID, change, func(p *Project) {
		_, existed := s.repoFiles(p)[filePath]
		switch {
		case content == "":
			change["removed"] = []any{filePath}
		case existed:
			change["modified"] = []any{filePath}
		default:
			change["added"] = []any{filePath}
		}
		s.setFile(projectID, filePath, content)
	})
}

// Push records a push to the project's default branch (it becomes
// non-empty and active) and delivers "Push Hook" to the group hooks and
// the system "push" event to system hooks.
func (s *Server) Push(ctx context.Context, projectID int64) []Delivery {
	return s.push(ctx, projectID, nil, nil)
}

// push commits (apply changes the files under the lock) and delivers the
// push. before and after are real commits: files read at either sha show
// the repository as it was.
func (s *Server) push(ctx context.Context, projectID int64, change map[string]any, apply func(*Project)) []Delivery {
	s.lockW()
	p := s.projects[projectID]
	if p == nil {
		s.mu.Unlock()
		return nil
	}
	if s.heads == nil {
		s.heads = map[int64]string{}
	}
	before := s.heads[projectID]
	if before == "" {
		before = randSHA()
		s.snapshot(projectID, before)
	}
	if apply != nil {
		apply(p)
	}
	after := randSHA()
	s.snapshot(projectID, after)
	s.heads[projectID] = after
	p.EmptyRepo = false
	if p.DefaultBranch == "" {
		p.DefaultBranch = "main"
	}
	recordActivity(p, time.Now().UTC())
	body := template("webhooks/push.json")
	for k, v := range map[string]any{
		"before": before, "after": after, "checkout_sha": after, "ref": "refs/heads/" + p.DefaultBranch,
		"project_id": p.ID, "project": s.hookProject(p), "repository": s.repository(p),
	} {
		body[k] = v
	}
	if change != nil {
		commit := body["commits"].([]any)[0].(map[string]any)
		commit["id"], commit["message"] = after, "Update files"
		for k, v := range change {
			commit[k] = v
		}
		body["commits"], body["total_commits_count"] = []any{commit}, 1
	}
	sys := template("systemhooks/push.json")
	for k, v := range map[string]any{
		"before": before, "after": after, "checkout_sha": after, "ref": "refs/heads/" + p.DefaultBranch,
		"project_id": p.ID, "project": s.hookProject(p), "repository": s.repository(p),
	} {
		sys[k] = v
	}
	ns := p.NamespaceID
	s.mu.Unlock()
	return s.fire(ctx, ns, "Push Hook", body, "push", sys)
}

// PushRef creates (delete false) or deletes a branch or tag (ref
// "refs/heads/x" or "refs/tags/x") and delivers GitLab's push: "Push
// Hook" for a branch, "Tag Push Hook" for a tag, with the all-zero sha on
// the side that does not exist, and the system hook's push or tag_push.
func (s *Server) PushRef(ctx context.Context, projectID int64, ref string, remove bool) []Delivery {
	const zero = "0000000000000000000000000000000000000000"
	s.lockW()
	p := s.projects[projectID]
	if p == nil {
		s.mu.Unlock()
		return nil
	}
	if s.refs == nil {
		s.refs = map[int64]map[string]string{}
	}
	if s.refs[projectID] == nil {
		s.refs[projectID] = map[string]string{}
	}
	recordActivity(p, time.Now().UTC()) // a tag or branch push is an event
	head := s.heads[projectID]
	if head == "" {
		head = randSHA()
		s.snapshot(projectID, head)
	}
	before, after := zero, head
	if remove {
		before, after = s.refs[projectID][ref], zero
		if before == "" {
			before = head
		}
		s.refs[projectID][ref] = ""
	} else {
		s.refs[projectID][ref] = head
	}
	event, hook, sysName := "Push Hook", "webhooks/push.json", "push"
	if strings.HasPrefix(ref, "refs/tags/") {
		event, hook, sysName = "Tag Push Hook", "webhooks/tag_push.json", "tag_push"
	}
	body, sys := template(hook), template("systemhooks/"+sysName+".json")
	for _, b := range []map[string]any{body, sys} {
		for k, v := range map[string]any{
			"before": before, "after": after, "checkout_sha": after, "ref": ref,
			"project_id": p.ID, "project": s.hookProject(p), "repository": s.repository(p),
			"commits": []any{}, "total_commits_count": 0,
		} {
			b[k] = v
		}
	}
	if remove {
		body["checkout_sha"], sys["checkout_sha"] = nil, nil
	}
	ns := p.NamespaceID
	s.mu.Unlock()
	return s.fire(ctx, ns, event, body, sysName, sys)
}

// MergeRequestEvent delivers "Merge Request Hook" for mr with action
// (open, update, merge, close, reopen).
func (s *Server) MergeRequestEvent(ctx context.Context, mrID int64, action string) []Delivery {
	s.mu.RLock()
	m := s.mrs[mrID]
	if m == nil {
		s.mu.RUnlock()
		return nil
	}
	p := s.projects[m.ProjectID]
	pwn := s.groups[p.NamespaceID].FullPath + "/" + p.Path
	body := template("webhooks/merge_request.json")
	attrs := body["object_attributes"].(map[string]any)
	for k, v := range map[string]any{
		"id": m.ID, "iid": m.IID, "title": m.Title, "state": m.State, "action": action,
		"source_branch": m.SourceBranch, "target_branch": m.TargetBranch,
		"source_project_id": p.ID, "target_project_id": p.ID,
		"created_at": m.CreatedAt.Format("2006-01-02 15:04:05 UTC"), "updated_at": m.UpdatedAt.Format("2006-01-02 15:04:05 UTC"),
		"url":    s.webURL(fmt.Sprintf("%s/-/merge_requests/%d", pwn, m.IID)),
		"source": s.hookProject(p), "target": s.hookProject(p),
	} {
		attrs[k] = v
	}
	body["project"] = s.hookProject(p)
	body["repository"] = s.repository(p)
	sys := template("systemhooks/merge_request.json")
	sys["project"] = s.hookProject(p)
	sys["object_attributes"] = attrs
	ns := p.NamespaceID
	s.mu.RUnlock()
	return s.fire(ctx, ns, "Merge Request Hook", body, "merge_request", sys)
}

// CreateProject creates a project in group g, as GitLab does when it is
// created with a README: "project_create" (a Project Hook to the group
// hooks with project events, GitLab 17.x, and the system hook event), then
// the push of its first commit.
func (s *Server) CreateProject(ctx context.Context, g *Group, name string) (*Project, []Delivery) {
	s.lockW()
	p := s.addProjectLocked(g, name)
	p.Fresh = true
	group, sys := s.projectEventBodies(p, "project_create", p.Path)
	s.mu.Unlock()
	out := s.fire(ctx, g.ID, "Project Hook", group, "project_create", sys)
	return p, append(out, s.Push(ctx, p.ID)...)
}

// DestroyProject deletes a project and sends "project_destroy" (a Project
// Hook to group hooks with project events, and the system hook event).
// As on GitLab with delayed deletion, the project was renamed
// "<path>-deleted-<id>" when marked for deletion, and the payloads name it
// so.
func (s *Server) DestroyProject(ctx context.Context, projectID int64) []Delivery {
	s.lockW()
	p := s.projects[projectID]
	if p == nil {
		s.mu.Unlock()
		return nil
	}
	group, sys := s.projectEventBodies(p, "project_destroy", fmt.Sprintf("%s-deleted-%d", p.Path, p.ID))
	ns := p.NamespaceID
	delete(s.projects, projectID)
	s.byID.dirty = true
	s.mu.Unlock()
	return s.fire(ctx, ns, "Project Hook", group, "project_destroy", sys)
}

// projectEventBodies are a project event's group hook body (webhooks/
// project.json) and system hook body (systemhooks/project_*.json), with
// the project under path. s.mu is held.
func (s *Server) projectEventBodies(p *Project, event, path string) (group, sys map[string]any) {
	ns := s.groups[p.NamespaceID]
	pwn := ns.FullPath + "/" + path
	now := time.Now().UTC()
	group = template("webhooks/project.json")
	for k, v := range map[string]any{"event_name": event, "name": p.Name, "path": path, "path_with_namespace": pwn, "project_id": p.ID,
		"project_namespace_id": ns.ID, "project_visibility": p.Visibility, "created_at": now.Format("2006-01-02 15:04:05 UTC"),
		"updated_at": now.Format("2006-01-02 15:04:05 UTC")} {
		group[k] = v
	}
	sys = template("systemhooks/" + event + ".json")
	for k, v := range map[string]any{"event_name": event, "name": p.Name, "path": path, "path_with_namespace": pwn, "project_id": p.ID,
		"project_visibility": p.Visibility, "updated_at": now.Format(time.RFC3339)} {
		sys[k] = v
	}
	return group, sys
}

// CreateSubgroup creates a subgroup and sends "Subgroup Hook"
// (subgroup_create) to the hooks of its ancestors.
func (s *Server) CreateSubgroup(ctx context.Context, parent *Group, name string) (*Group, []Delivery) {
	g := s.AddGroup(parent, name)
	return g, s.fireGroup(ctx, g, parent, "subgroup_create")
}

// RemoveSubgroup deletes a subgroup (and what it holds) and sends
// "Subgroup Hook" (subgroup_destroy).
func (s *Server) RemoveSubgroup(ctx context.Context, g *Group) []Delivery {
	s.lockW()
	parent := s.groups[g.ParentID]
	for id, p := range s.projects {
		if s.isDescendant(p.NamespaceID, g.ID) {
			delete(s.projects, id)
			s.byID.dirty = true
		}
	}
	for id := range s.groups {
		if id != g.ID && s.isDescendant(id, g.ID) {
			delete(s.byPath, s.groups[id].FullPath)
			delete(s.groups, id)
		}
	}
	s.mu.Unlock()
	ds := s.fireGroup(ctx, g, parent, "subgroup_destroy")
	s.lockW()
	delete(s.byPath, g.FullPath)
	delete(s.groups, g.ID)
	s.mu.Unlock()
	return ds
}

func (s *Server) fireGroup(ctx context.Context, g, parent *Group, eventName string) []Delivery {
	body := template("webhooks/subgroup.json")
	now := time.Now().UTC().Format(time.RFC3339)
	for k, v := range map[string]any{
		"created_at": now, "updated_at": now, "event_name": eventName, "name": g.Name, "path": g.Path,
		"full_path": g.FullPath, "group_id": g.ID, "parent_group_id": parent.ID, "parent_name": parent.Name,
		"parent_path": parent.Path, "parent_full_path": parent.FullPath,
	} {
		body[k] = v
	}
	return s.fire(ctx, parent.ID, "Subgroup Hook", body, "", nil)
}

// deliveryLabel is used in test failure messages.
func (d Delivery) String() string {
	return fmt.Sprintf("%s %s -> %d %v", d.Event, strings.TrimSpace(d.URL), d.Status, d.Err)
}

// activityInterval is GitLab's Event::RESET_PROJECT_ACTIVITY_INTERVAL: an
// event moves its project's last_activity_at only when that is at least
// this old (app/models/event.rb, reset_project_activity).
const activityInterval = time.Hour

// recordActivity moves p's last_activity_at for an event at at, the way
// GitLab throttles it.
func recordActivity(p *Project, at time.Time) {
	if !p.LastActivity.After(at.Add(-activityInterval)) {
		p.LastActivity = at
	}
}
