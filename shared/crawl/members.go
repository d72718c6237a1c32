package crawl

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// groupsInScope collects the groups in scope (the listing shared with the
// group kind) for the member kinds, which then read members group by group.
func (s *Source) groupsInScope(ctx context.Context, active *bool) (groups []map[string]any, requested time.Time, out Counts, err error) {
	c, err := s.GroupsWith(ctx, active, func(p gitlab.Page) error {
		groups = append(groups, p.Items...)
		requested = p.RequestedAt
		return nil
	})
	out.Fetched = c.Fetched
	return groups, requested, out, err
}

// GroupsWithMembers streams the groups in scope, each with its members
// under "__members" (see membersOf).
func (s *Source) GroupsWithMembers(ctx context.Context, o Options, fn func(gitlab.Page) error) (Counts, error) {
	groups, requested, out, err := s.groupsInScope(ctx, o.ActiveGroups)
	if err != nil {
		return out, err
	}
	for _, cached := range groups {
		// The listing is shared with the group kind: members go on a copy.
		g, err := s.GroupWithMembers(ctx, cached, o)
		if err != nil {
			return out, err
		}
		out.Selected++
		if err := fn(gitlab.Page{Items: []map[string]any{g}, RequestedAt: requested}); err != nil {
			return out, err
		}
	}
	return out, nil
}

// membersOf lists a group's members as the member kinds' options ask:
// direct (/members) or with the inherited ones (IncludeInheritedMembers:
// /members/all), bots left out unless IncludeBotMembers; all pages.
func (s *Source) membersOf(ctx context.Context, group map[string]any, o Options) ([]any, error) {
	suffix := "members"
	if o.IncludeInheritedMembers {
		suffix = "members/all"
	}
	members, err := s.listMembers(ctx, fmt.Sprintf("groups/%d/%s", int64(num(group["id"])), suffix), o)
	if err != nil {
		return nil, fmt.Errorf("crawl: listing members of group %v: %w", group["full_path"], err)
	}
	return members, nil
}

// MemberObjects are the member kind's objects for one group's members:
// each member with the group under "__group".
func MemberObjects(group map[string]any, members []any) []map[string]any {
	info := map[string]any{"id": group["id"], "full_path": group["full_path"], "name": group["name"], "web_url": group["web_url"]}
	items := make([]map[string]any, 0, len(members))
	for _, m := range members {
		mm := m.(map[string]any)
		mm["__group"] = info
		items = append(items, mm)
	}
	return items
}

// IsBot reports bot users as Ocean v2 does (gitlab-v2/gitlab/helpers/
// utils.py, is_bot_member): GitLab's bot flag when present, else the
// username of a group or project access token bot.
func IsBot(m map[string]any) bool {
	if b, ok := m["bot"].(bool); ok {
		return b
	}
	u, _ := m["username"].(string)
	return botUsername.MatchString(u)
}

var botUsername = regexp.MustCompile(`^(?:project|group)_\d+_bot_[a-f0-9]+$`)

// isBotFor applies the generation's bot rule: Ocean v1 drops every
// username containing "bot" (gitlab/gitlab_integration/gitlab_service.py,
// should_run_for_members), v2 uses IsBot.
func isBotFor(gen string, m map[string]any) bool {
	if gen == "v1" {
		u, _ := m["username"].(string)
		return strings.Contains(u, "bot")
	}
	return IsBot(m)
}

// memberRows shapes members for __members as Ocean does: v2 keeps
// {email, username, name, access_level, id} and drops rows missing one of
// the last four (gitlab-v2/gitlab/clients/gitlab_client.py,
// _member_row_for_port); v1 keeps {id, username, email}, email "" when
// GitLab does not show it, or whole objects with
// includeVerboseMemberObject (gitlab_service.py, enrich_object_with_members).
func memberRows(o Options, members []any) []any {
	rows := make([]any, 0, len(members))
	for _, x := range members {
		m, _ := x.(map[string]any)
		switch {
		case o.VerboseMembers:
			rows = append(rows, m)
		case o.Generation == "v1":
			email, ok := m["email"]
			if !ok || email == nil {
				email = ""
			}
			rows = append(rows, map[string]any{"id": m["id"], "username": m["username"], "email": email})
		default:
			if m["id"] == nil || m["username"] == nil || m["name"] == nil || m["access_level"] == nil {
				continue
			}
			rows = append(rows, map[string]any{"email": m["email"], "username": m["username"], "name": m["name"], "access_level": m["access_level"], "id": m["id"]})
		}
	}
	return rows
}

// ProjectsWithMembers streams the selected projects, each with its members
// under "__members" (direct, or with IncludeInheritedMembers /members/all;
// bots left out unless IncludeBotMembers). One request per project.
func (s *Source) ProjectsWithMembers(ctx context.Context, o Options, fn func(gitlab.Page) error) (Counts, error) {
	return s.eachProject(ctx, false, o.ActiveProjects, func(ctx context.Context, pr map[string]any) (gitlab.Page, error) {
		start := time.Now()
		cp, err := s.ProjectWithMembers(ctx, pr, o)
		if err != nil {
			return gitlab.Page{}, err
		}
		return gitlab.Page{Items: []map[string]any{cp}, RequestedAt: start}, nil
	}, fn)
}

// ProjectWithMembers returns a copy of project pr with its members under
// "__members" (see memberRows); resyncs and project events share it.
func (s *Source) ProjectWithMembers(ctx context.Context, pr map[string]any, o Options) (map[string]any, error) {
	suffix := "members"
	if o.IncludeInheritedMembers {
		suffix = "members/all"
	}
	members, err := s.listMembers(ctx, fmt.Sprintf("projects/%d/%s", int64(num(pr["id"])), suffix), o)
	if err != nil {
		return nil, fmt.Errorf("crawl: members of project %v: %w", pr["path_with_namespace"], err)
	}
	cp := maps.Clone(pr)
	cp["__members"] = memberRows(o, members)
	return cp, nil
}

// GroupMembers streams the members of the groups in scope, one object per
// member and group, the group under "__group". A member of several groups
// is owned by the first listing that reaches it (ids dedupe).
func (s *Source) GroupMembers(ctx context.Context, o Options, fn func(gitlab.Page) error) (Counts, error) {
	groups, requested, out, err := s.groupsInScope(ctx, o.ActiveGroups)
	if err != nil {
		return out, err
	}
	for _, g := range groups {
		items, err := s.GroupMemberObjects(ctx, g, o)
		if err != nil {
			return out, err
		}
		out.Selected += len(items)
		if len(items) > 0 {
			if err := fn(gitlab.Page{Items: items, RequestedAt: requested}); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

func (s *Source) listMembers(ctx context.Context, path string, o Options) ([]any, error) {
	members := []any{}
	err := s.Client.ListOffset(ctx, path, nil, func(p gitlab.Page) error {
		for _, m := range p.Items {
			if !o.IncludeBotMembers && isBotFor(string(o.Generation), m) {
				continue
			}
			members = append(members, m)
		}
		return nil
	})
	return members, err
}
