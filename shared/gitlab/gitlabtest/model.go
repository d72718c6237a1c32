package gitlabtest

import (
	"fmt"
	"sort"
	"time"
)

// baseTime anchors generated timestamps so seeded organisations are
// reproducible byte for byte.
var baseTime = time.Date(2023, 1, 2, 9, 0, 0, 0, time.UTC)

// Group is a group or subgroup in the simulated instance.
type Group struct {
	ID          int64
	Name        string
	Path        string
	FullPath    string
	ParentID    int64 // 0 for a root group
	Description string
	Visibility  string // private, internal, public
	CreatedAt   time.Time
	// MarkedForDeletionOn is set for groups pending deletion.
	MarkedForDeletionOn *time.Time
	// OwnerID is set on a user's personal namespace (kind "user", see
	// AddUser): GitLab's groups API does not serve it, projects in it
	// have namespace.kind "user".
	OwnerID int64
}

// Project is a project in the simulated instance.
type Project struct {
	ID            int64
	Name          string
	Path          string
	NamespaceID   int64
	Description   string
	Visibility    string
	DefaultBranch string
	Archived      bool
	EmptyRepo     bool
	Topics        []string
	CreatedAt     time.Time
	LastActivity  time.Time
	// SharedWith lists group ids the project is shared with.
	SharedWith []int64
	// Fresh marks a project made by CreateProject: its repository holds
	// what was pushed to it, without the generated organisation's
	// release tags and deployments, whose creation GitLab never reported.
	Fresh bool
	// ReleasesAccess is the project's releases_access_level: "enabled"
	// (the default, when empty), "private" (members only) or "disabled"
	// (nobody, admins included: GitLab's ProjectPolicy prevents
	// read_release whatever the role).
	ReleasesAccess string
}

// Hook is a group hook (GroupID set), a project hook (ProjectID set) or
// a system hook.
type Hook struct {
	ID                       int64
	GroupID                  int64
	ProjectID                int64
	URL                      string
	Name                     string
	Description              string
	Token                    string // write-only in GitLab's API
	SigningToken             string // GitLab 19+ "whsec_…", signs deliveries (signing.go); write-only too
	Events                   map[string]bool
	PushEventsBranchFilter   string
	EnableSSLVerification    bool
	CustomWebhookTemplate    string
	CreatedAt                time.Time
	BranchFilterStrategy     string
	ResourceAccessTokenEvent bool
	// AlertStatus is "executable", "temporarily_disabled" (after 4
	// failed deliveries in a row, until DisabledUntil) or "disabled"
	// (after 40), as GitLab's auto-disabling does.
	AlertStatus   string
	DisabledUntil time.Time
	// Failures counts failed deliveries in a row.
	Failures int
	// CustomHeaders and URLVariables: GitLab returns their keys only.
	CustomHeaders, URLVariables map[string]string
	// ExtraFlags are *_events flags the simulator does not deliver: stored
	// and returned as GitLab does.
	ExtraFlags map[string]bool
}

// groupHookEvents are the event flags of a group hook, as GitLab names
// them in the hooks API.
var groupHookEvents = []string{
	"push_events", "issues_events", "confidential_issues_events", "merge_requests_events",
	"tag_push_events", "note_events", "confidential_note_events", "job_events",
	"pipeline_events", "wiki_page_events", "deployment_events", "releases_events",
	"subgroup_events", "member_events", "feature_flag_events", "emoji_events",
	"resource_access_token_events", "milestone_events", "project_events", "vulnerability_events",
}

// systemHookEvents are the event flags of a system hook.
var systemHookEvents = []string{"push_events", "tag_push_events", "merge_requests_events", "repository_update_events"}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Server) groupJSON(g *Group) map[string]any {
	var parent any
	if g.ParentID != 0 {
		parent = g.ParentID
	}
	var marked any
	if g.MarkedForDeletionOn != nil {
		marked = g.MarkedForDeletionOn.Format("2006-01-02")
	}
	return map[string]any{
		"id":                                 g.ID,
		"web_url":                            s.webURL("groups/" + g.FullPath),
		"name":                               g.Name,
		"path":                               g.Path,
		"description":                        g.Description,
		"visibility":                         g.Visibility,
		"share_with_group_lock":              false,
		"require_two_factor_authentication":  false,
		"two_factor_grace_period":            48,
		"project_creation_level":             "developer",
		"auto_devops_enabled":                nil,
		"subgroup_creation_level":            "maintainer",
		"emails_disabled":                    false,
		"emails_enabled":                     true,
		"mentions_disabled":                  nil,
		"lfs_enabled":                        true,
		"math_rendering_limits_enabled":      true,
		"lock_math_rendering_limits_enabled": false,
		"default_branch":                     nil,
		"default_branch_protection":          2,
		"default_branch_protection_defaults": map[string]any{"allowed_to_push": []any{map[string]any{"access_level": 40}}, "allow_force_push": false, "allowed_to_merge": []any{map[string]any{"access_level": 40}}},
		"avatar_url":                         nil,
		"request_access_enabled":             true,
		"full_name":                          s.fullName(g),
		"full_path":                          g.FullPath,
		"created_at":                         ts(g.CreatedAt),
		"parent_id":                          parent,
		"organization_id":                    1,
		"shared_runners_setting":             "enabled",
		"max_artifacts_size":                 nil,
		"ldap_cn":                            nil,
		"ldap_access":                        nil,
		"marked_for_deletion_on":             marked,
		"wiki_access_level":                  "enabled",
		"archived":                           false,
	}
}

func (s *Server) fullName(g *Group) string {
	name := g.Name
	for p := s.groups[g.ParentID]; p != nil; p = s.groups[p.ParentID] {
		name = p.Name + " / " + name
	}
	return name
}

func (s *Server) namespaceJSON(g *Group) map[string]any {
	var parent any
	if g.ParentID != 0 {
		parent = g.ParentID
	}
	if g.OwnerID != 0 {
		return s.userNamespaceJSON(g)
	}
	return map[string]any{
		"id":         g.ID,
		"name":       g.Name,
		"path":       g.Path,
		"kind":       "group",
		"full_path":  g.FullPath,
		"parent_id":  parent,
		"avatar_url": nil,
		"web_url":    s.webURL("groups/" + g.FullPath),
	}
}

// projectJSON renders a project as GET /projects does; simple selects the
// reduced representation GitLab returns for simple=true.
func (s *Server) projectJSON(p *Project, simple bool) map[string]any {
	ns := s.groups[p.NamespaceID]
	pwn := ns.FullPath + "/" + p.Path
	var defBranch, readme any
	if !p.EmptyRepo {
		defBranch = p.DefaultBranch
		readme = s.webURL(pwn + "/-/blob/" + p.DefaultBranch + "/README.md")
	}
	topics := p.Topics
	if topics == nil {
		topics = []string{}
	}
	m := map[string]any{
		"id":                  p.ID,
		"description":         p.Description,
		"name":                p.Name,
		"name_with_namespace": s.fullName(ns) + " / " + p.Name,
		"path":                p.Path,
		"path_with_namespace": pwn,
		"created_at":          ts(p.CreatedAt),
		"default_branch":      defBranch,
		"tag_list":            topics,
		"topics":              topics,
		"ssh_url_to_repo":     fmt.Sprintf("git@%s:%s.git", s.hostname(), pwn),
		"http_url_to_repo":    s.webURL(pwn + ".git"),
		"web_url":             s.webURL(pwn),
		"readme_url":          readme,
		"forks_count":         0,
		"avatar_url":          nil,
		"star_count":          int(p.ID % 7),
		"last_activity_at":    ts(p.LastActivity),
		"visibility":          p.Visibility,
		"namespace":           s.namespaceJSON(ns),
	}
	if simple {
		return m
	}
	shared := []any{}
	for _, gid := range p.SharedWith {
		if g := s.groups[gid]; g != nil {
			shared = append(shared, map[string]any{"group_id": g.ID, "group_name": g.Name, "group_full_path": g.FullPath, "group_access_level": 30, "expires_at": nil})
		}
	}
	links := map[string]any{
		"self":           s.apiURL(fmt.Sprintf("projects/%d", p.ID)),
		"issues":         s.apiURL(fmt.Sprintf("projects/%d/issues", p.ID)),
		"merge_requests": s.apiURL(fmt.Sprintf("projects/%d/merge_requests", p.ID)),
		"repo_branches":  s.apiURL(fmt.Sprintf("projects/%d/repository/branches", p.ID)),
		"labels":         s.apiURL(fmt.Sprintf("projects/%d/labels", p.ID)),
		"events":         s.apiURL(fmt.Sprintf("projects/%d/events", p.ID)),
		"members":        s.apiURL(fmt.Sprintf("projects/%d/members", p.ID)),
		"cluster_agents": s.apiURL(fmt.Sprintf("projects/%d/cluster_agents", p.ID)),
	}
	for k, v := range map[string]any{
		"_links":                                     links,
		"container_registry_image_prefix":            fmt.Sprintf("registry.%s/%s", s.hostname(), pwn),
		"packages_enabled":                           true,
		"empty_repo":                                 p.EmptyRepo,
		"archived":                                   p.Archived,
		"resolve_outdated_diff_discussions":          false,
		"container_registry_enabled":                 true,
		"issues_enabled":                             true,
		"merge_requests_enabled":                     true,
		"wiki_enabled":                               true,
		"jobs_enabled":                               true,
		"snippets_enabled":                           true,
		"issues_access_level":                        "enabled",
		"repository_access_level":                    "enabled",
		"merge_requests_access_level":                "enabled",
		"builds_access_level":                        "enabled",
		"wiki_access_level":                          "enabled",
		"releases_access_level":                      orDefault(p.ReleasesAccess, "enabled"),
		"shared_runners_enabled":                     true,
		"lfs_enabled":                                true,
		"creator_id":                                 1,
		"import_status":                              "none",
		"open_issues_count":                          int(p.ID % 13),
		"ci_default_git_depth":                       20,
		"public_jobs":                                true,
		"shared_with_groups":                         shared,
		"only_allow_merge_if_pipeline_succeeds":      false,
		"request_access_enabled":                     true,
		"merge_method":                               "merge",
		"squash_option":                              "default_off",
		"autoclose_referenced_issues":                true,
		"marked_for_deletion_at":                     nil,
		"marked_for_deletion_on":                     nil,
		"compliance_frameworks":                      []any{},
		"warn_about_potentially_unwanted_characters": true,
		"permissions":                                map[string]any{"project_access": nil, "group_access": map[string]any{"access_level": 40, "notification_level": 3}},
	} {
		m[k] = v
	}
	return m
}

func (s *Server) hookJSON(h *Hook) map[string]any {
	m := map[string]any{
		"id":                        h.ID,
		"url":                       h.URL,
		"name":                      h.Name,
		"description":               h.Description,
		"created_at":                ts(h.CreatedAt),
		"enable_ssl_verification":   h.EnableSSLVerification,
		"alert_status":              orDefault(h.AlertStatus, "executable"),
		"disabled_until":            nil,
		"url_variables":             keysOnly(h.URLVariables),
		"push_events_branch_filter": h.PushEventsBranchFilter,
		"branch_filter_strategy":    orDefault(h.BranchFilterStrategy, "wildcard"),
		"custom_webhook_template":   h.CustomWebhookTemplate,
		"custom_headers":            keysOnly(h.CustomHeaders),
	}
	if !h.DisabledUntil.IsZero() && h.AlertStatus == "temporarily_disabled" {
		m["disabled_until"] = ts(h.DisabledUntil)
	}
	for k, v := range h.ExtraFlags {
		if h.ProjectID == 0 { // a project hook's flags are all known; GitLab ignores others
			m[k] = v
		}
	}
	s.signingJSON(h, m)
	events := systemHookEvents
	switch {
	case h.GroupID != 0:
		m["group_id"] = h.GroupID
		events = groupHookEvents
	case h.ProjectID != 0:
		m["project_id"] = h.ProjectID
		events = projectHookEvents
	}
	for _, e := range events {
		m[e] = h.Events[e]
	}
	return m
}

// keysOnly is how GitLab returns custom headers and URL variables: their
// keys, never their values.
func keysOnly(m map[string]string) []any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, 0, len(keys))
	for _, k := range keys {
		out = append(out, map[string]any{"key": k})
	}
	return out
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
