package hooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
)

// Spec is one hook as a user declares it (the Terraform resources) or as
// reconciliation wants it. GroupID and ProjectID 0 mean a system hook.
type Spec struct {
	GroupID int64
	// ProjectID makes it a project hook (a personal project's).
	ProjectID int64
	URL       string
	// Events are spec event names (push_events, user_add_to_group…);
	// empty means every event of the hook's type.
	Events []string
	Token  string
	// SigningToken (GitLab 19+, "whsec_…") is sent as signing_token when
	// set.
	SigningToken           string
	EnableSSLVerification  bool
	Name, Description      string
	PushEventsBranchFilter string
	CustomWebhookTemplate  string
}

// body is the create/update request: every flag of the hook's type is
// sent, so events removed from the spec are turned off.
func (s Spec) body() map[string]any {
	events := s.Events
	o := s.owner()
	flags := o.flags()
	if o.System() {
		if len(events) == 0 {
			events = hookspec.SystemEvents
		}
	} else if len(events) == 0 {
		events = hookspec.GroupEvents
	}
	want := Flags(events)
	b := map[string]any{"url": s.URL, "enable_ssl_verification": s.EnableSSLVerification}
	if s.Token != "" {
		b["token"] = s.Token
	}
	if s.SigningToken != "" {
		b["signing_token"] = s.SigningToken
	}
	for _, f := range flags {
		b[f] = want[f]
	}
	if !o.System() {
		b["name"] = s.Name
		b["description"] = s.Description
		b["push_events_branch_filter"] = s.PushEventsBranchFilter
		b["custom_webhook_template"] = s.CustomWebhookTemplate
	} else if s.Name != "" {
		b["name"] = s.Name
	}
	return b
}

// Create adds the hook and returns GitLab's view of it.
func Create(ctx context.Context, c *gitlab.Client, s Spec) (Existing, error) {
	var raw map[string]any
	if _, err := c.Do(ctx, http.MethodPost, s.owner().path(), s.body(), &raw); err != nil {
		return Existing{}, explain(err, s.owner())
	}
	return existing(raw, s.owner()), nil
}

// CreateRaw adds a hook with exactly the fields of body (GitLab's hook
// API names) and returns GitLab's view of it: the Terraform resources send
// only what their configuration sets.
func CreateRaw(ctx context.Context, c *gitlab.Client, groupID int64, body map[string]any) (Existing, error) {
	return CreateRawOf(ctx, c, GroupOwner(groupID), body)
}

// UpdateRaw changes a hook's fields in body, leaving the others as GitLab
// has them.
func UpdateRaw(ctx context.Context, c *gitlab.Client, groupID, hookID int64, body map[string]any) (Existing, error) {
	return UpdateRawOf(ctx, c, GroupOwner(groupID), hookID, body)
}

// Get reads one hook; found is false when GitLab answers 404.
func Get(ctx context.Context, c *gitlab.Client, groupID, hookID int64) (e Existing, found bool, err error) {
	return GetOf(ctx, c, GroupOwner(groupID), hookID)
}

// Update changes a hook in place (GitLab keeps its id).
func Update(ctx context.Context, c *gitlab.Client, hookID int64, s Spec) (Existing, error) {
	var raw map[string]any
	if _, err := c.Do(ctx, http.MethodPut, fmt.Sprintf("%s/%d", s.owner().path(), hookID), s.body(), &raw); err != nil {
		return Existing{}, explain(err, s.owner())
	}
	return existing(raw, s.owner()), nil
}

// Delete removes a hook; one already gone is not an error.
func Delete(ctx context.Context, c *gitlab.Client, groupID, hookID int64) error {
	return DeleteOf(ctx, c, GroupOwner(groupID), hookID)
}

// Resume asks GitLab for a test push delivery to a group hook, which
// re-enables a hook GitLab paused or disabled after failures when it
// succeeds (POST /groups/:id/hooks/:hook_id/test/push_events, GitLab
// 17.1+). An older GitLab answers 404: the hook is then left to resume
// by itself.
func Resume(ctx context.Context, c *gitlab.Client, groupID, hookID int64) error {
	return resumeAt(ctx, c, GroupOwner(groupID), hookID)
}

// resumeAt is Resume for a group's or a project's hook (POST
// /projects/:id/hooks/:hook_id/test/push_events for the latter).
func resumeAt(ctx context.Context, c *gitlab.Client, o Owner, hookID int64) error {
	if _, err := c.Do(ctx, http.MethodPost, fmt.Sprintf("%s/%d/test/push_events", o.path(), hookID), nil, nil); err != nil {
		return explain(err, o)
	}
	return nil
}

// explain adds what a 403 means for hooks.
func explain(err error, o Owner) error {
	var ae *gitlab.APIError
	if asAPIError(err, &ae) && ae.Status == http.StatusForbidden {
		switch {
		case o.ProjectID != 0:
			return fmt.Errorf("%w: project hooks need the Maintainer role on the project and a token with the api scope", err)
		case o.System():
			return fmt.Errorf("%w: system hooks need an administrator's token", err)
		}
		return fmt.Errorf("%w: group hooks need the Owner role on the group", err)
	}
	return err
}

// Existing is a hook GitLab has.
type Existing struct {
	ID                     int64
	GroupID                int64
	ProjectID              int64
	URL                    string
	Flags                  map[string]bool
	AlertStatus            string
	DisabledUntil          string
	SSL                    bool
	Name, Description      string
	PushEventsBranchFilter string
	CustomWebhookTemplate  string
	// SigningTokenPresent is GitLab 19's signing_token_present; nil when
	// GitLab does not report it (older than 19.0).
	SigningTokenPresent *bool
	// Raw is the hook as GitLab served it, every field.
	Raw map[string]any
}

// Paused reports a hook GitLab stopped delivering to for a while after
// failed deliveries (5xx or no answer: its alert_status
// temporarily_disabled). GitLab resumes it by itself when disabled_until
// passes, and keeps its failed deliveries for "Resend request" meanwhile.
func (e Existing) Paused() bool { return e.AlertStatus == "temporarily_disabled" }

// Disabled reports whether GitLab stopped delivering to the hook after
// failures.
func (e Existing) Disabled() bool {
	if e.AlertStatus != "" && e.AlertStatus != "executable" {
		return true
	}
	if e.DisabledUntil != "" {
		if t, err := time.Parse(time.RFC3339, e.DisabledUntil); err == nil && t.After(time.Now()) {
			return true
		}
	}
	return false
}

// existing reads a hook as GitLab serves it. o is where it was read, the
// group or project when GitLab's answer has no group_id or project_id.
func existing(h map[string]any, o Owner) Existing {
	e := Existing{Flags: map[string]bool{}, GroupID: o.GroupID, ProjectID: o.ProjectID, Raw: h}
	if id, ok := h["id"].(float64); ok {
		e.ID = int64(id)
	}
	if id, ok := h["group_id"].(float64); ok {
		e.GroupID = int64(id)
	}
	if id, ok := h["project_id"].(float64); ok {
		e.ProjectID = int64(id)
	}
	e.URL, _ = h["url"].(string)
	e.AlertStatus, _ = h["alert_status"].(string)
	e.DisabledUntil, _ = h["disabled_until"].(string)
	e.SSL, _ = h["enable_ssl_verification"].(bool)
	e.Name, _ = h["name"].(string)
	e.Description, _ = h["description"].(string)
	e.PushEventsBranchFilter, _ = h["push_events_branch_filter"].(string)
	e.CustomWebhookTemplate, _ = h["custom_webhook_template"].(string)
	if p, ok := h["signing_token_present"].(bool); ok {
		e.SigningTokenPresent = &p
	}
	for k, v := range h {
		if b, ok := v.(bool); ok && len(k) > 7 && k[len(k)-7:] == "_events" {
			e.Flags[k] = b
		}
	}
	return e
}

// Events turns a hook's GitLab flags back into event names, sorted. A
// flag the user named (prior) reads back under the spellings the user
// wrote (job_events, jobs_events, or the three membership events that
// share member_events), so reading a hook back does not invent a
// difference; a flag the user did not name reads back under the spec's
// names (names: GroupEvents or SystemEvents).
func (e Existing) Events(system bool, prior []string) []string {
	names := hookspec.GroupEvents
	if system {
		names = hookspec.SystemEvents
	}
	return e.EventsOf(names, prior)
}

// EventsOf is Events with the hook type's event names given (a project
// hook's are hookspec.ProjectEvents).
func (e Existing) EventsOf(names, prior []string) []string {
	asked := map[string][]string{} // flag -> the user's spellings of it
	for _, p := range prior {
		if f := hookspec.Flag(p); f != "" && !slices.Contains(asked[f], p) {
			asked[f] = append(asked[f], p)
		}
	}
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range names {
		f := hookspec.Flag(n)
		if !e.Flags[f] {
			continue
		}
		if len(asked[f]) == 0 {
			add(n)
		}
	}
	for f, spellings := range asked {
		if e.Flags[f] {
			for _, s := range spellings {
				add(s)
			}
		}
	}
	sort.Strings(out)
	return out
}

func asAPIError(err error, target **gitlab.APIError) bool { return errors.As(err, target) }
