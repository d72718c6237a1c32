package gitlabtest

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// GitLab's release listings, as read from gitlabhq/gitlabhq:
//   - lib/api/releases.rb (017a6c129d6a): GET /projects/:id/releases runs
//     authorize! :read_release on the project, then ReleasesFinder;
//     GET /groups/:id/releases runs authorize! :read_release on the group,
//     then Releases::GroupReleasesFinder, and presents Entities::Release
//     (Entities::BasicReleaseDetails with simple=true) with the same
//     current_user, paginated with offset pages in the finder's order;
//   - app/finders/releases/group_releases_finder.rb (1038f06b8654): the
//     group's own projects only (parent.projects: include_subgroups is no
//     API parameter, projects shared with the group are not its
//     projects), no check of the projects' own read_release, ordered by
//     released_at then id, both in the sort direction;
//   - app/policies/project_policy.rb (002b575a8a48): read_release comes
//     with guest access (a member, an admin) or public access, and the
//     releases_disabled rule prevents it: releases_access_level disabled
//     for everyone, private for all but members and admins
//     (ProjectFeature: required level Guest);
//   - app/policies/group_policy.rb (012f9a4b9ec4): a group's read_release
//     comes with the guest condition, a membership of Guest or more (an
//     admin counts as Owner: Group#max_member_access_for_user).

// releasesReadable is GitLab's read_release on p for tok, for a project
// tok can see. The simulator's tokens see projects through memberships
// (or as admins), so "private" releases are readable wherever the project
// is; a token below Guest (Minimal Access) reads none.
func (s *Server) releasesReadable(tok *Token, p *Project) bool {
	switch orDefault(p.ReleasesAccess, "enabled") {
	case "disabled":
		return false
	case "private":
		return tok.Kind == AdminToken || s.accessLevel(tok) >= 10
	}
	return true
}

// groupReleases serves GET /groups/:id/releases: the releases of the
// group's own projects (not its subgroups', not those shared with it),
// whatever each project's releases_access_level, released_at then id
// descending (sort=asc: ascending), Entities::Release or, with
// simple=true, Entities::BasicReleaseDetails.
func (s *Server) groupReleases(w http.ResponseWriter, r *http.Request, tok *Token, g *Group) {
	q := r.URL.Query()
	if tok.Kind != AdminToken && s.accessLevel(tok) < 10 {
		writeJSON(w, http.StatusForbidden, forbidden)
		return
	}
	dir := orDefault(q.Get("sort"), "desc")
	if dir != "asc" && dir != "desc" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "sort does not have a valid value"})
		return
	}
	simple, _ := boolParam(q, "simple")
	s.mu.RLock()
	defer s.mu.RUnlock()
	var items []*Release
	for _, x := range s.obj.releases {
		if p := s.projects[x.ProjectID]; p != nil && p.NamespaceID == g.ID {
			items = append(items, x)
		}
	}
	page := offsetPage(w, r, s.apiURL(fmt.Sprintf("groups/%d/releases", g.ID)), sortedReleases(items, dir == "desc"))
	out := make([]any, len(page))
	for i, x := range page {
		if simple {
			out[i] = map[string]any{"name": x.Name, "tag_name": x.TagName, "description": x.Description,
				"created_at": ts(x.CreatedAt), "released_at": ts(x.ReleasedAt), "upcoming_release": upcoming(x)}
			continue
		}
		out[i] = s.releaseJSON(x)
	}
	writeJSON(w, http.StatusOK, out)
}

// upcoming is Release#upcoming_release?: released_at still ahead.
func upcoming(r *Release) bool { return r.ReleasedAt.After(time.Now()) }

// Release is a release of a project.
type Release struct {
	ProjectID     int64
	TagName, Name string
	Description   string
	CreatedAt     time.Time
	ReleasedAt    time.Time
	// id is the release's database id: GitLab's API never shows it, but
	// the group listing orders by it after released_at.
	id int64
}

// AddRelease publishes a release.
func (s *Server) AddRelease(projectID int64, tag string) *Release {
	s.lockW()
	defer s.mu.Unlock()
	now := time.Now().UTC()
	s.obj.releaseIDs++
	r := &Release{ProjectID: projectID, TagName: tag, Name: tag, Description: "Release " + tag, CreatedAt: now, ReleasedAt: now, id: s.obj.releaseIDs}
	s.obj.releases = append(s.obj.releases, r)
	c := *r
	return &c
}

// SetReleasedAt sets a release's released_at (GitLab takes it from the
// API for historical and upcoming releases), which orders the listings.
func (s *Server) SetReleasedAt(projectID int64, tag string, at time.Time) {
	s.lockW()
	defer s.mu.Unlock()
	for _, r := range s.obj.releases {
		if r.ProjectID == projectID && r.TagName == tag {
			r.ReleasedAt = at.UTC()
		}
	}
}

// Releases returns all releases, newest first as GitLab's group listing
// orders them (released_at desc, then id desc).
func (s *Server) Releases() []Release {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Release, 0, len(s.obj.releases))
	for _, r := range sortedReleases(s.obj.releases, true) {
		out = append(out, *r)
	}
	return out
}

// sortedReleases orders releases by released_at, then id (the group
// listing's order: Releases::GroupReleasesFinder#order_releases), newest
// first when desc. The project listing orders by released_at alone
// (Release.order_released_desc) and leaves ties to the database; the
// simulator breaks them by id as the group listing does.
func sortedReleases(rs []*Release, desc bool) []*Release {
	out := append([]*Release(nil), rs...)
	sort.Slice(out, func(a, b int) bool {
		x, y := out[a], out[b]
		if desc {
			x, y = y, x
		}
		if !x.ReleasedAt.Equal(y.ReleasedAt) {
			return x.ReleasedAt.Before(y.ReleasedAt)
		}
		return x.id < y.id
	})
	return out
}

// DeleteRelease removes a release.
func (s *Server) DeleteRelease(projectID int64, tag string) {
	s.lockW()
	defer s.mu.Unlock()
	for i, r := range s.obj.releases {
		if r.ProjectID == projectID && r.TagName == tag {
			s.obj.releases = append(s.obj.releases[:i], s.obj.releases[i+1:]...)
			return
		}
	}
}

func (s *Server) releaseJSON(r *Release) map[string]any {
	pwn := s.pathOf(r.ProjectID)
	return map[string]any{
		"tag_name": r.TagName, "name": r.Name, "description": r.Description, "created_at": ts(r.CreatedAt), "released_at": ts(r.ReleasedAt),
		"upcoming_release": upcoming(r), "author": map[string]any{"id": 1, "username": "jsmith", "name": "John Smith"},
		"commit": map[string]any{"id": blobSHA(pwn + r.TagName), "title": "Release " + r.TagName}, "milestones": []any{}, "commit_path": "/" + pwn + "/-/commit/x",
		"tag_path": "/" + pwn + "/-/tags/" + r.TagName, "assets": map[string]any{"count": 0, "sources": []any{}, "links": []any{}},
		"evidences": []any{},
		"_links":    map[string]any{"self": s.webURL(pwn + "/-/releases/" + r.TagName), "edit_url": s.webURL(pwn + "/-/releases/" + r.TagName + "/edit")},
	}
}

// ReleaseEvent delivers "Release Hook" with action create, update or delete.
func (s *Server) ReleaseEvent(ctx context.Context, projectID int64, tag, action string) []Delivery {
	s.mu.RLock()
	p := s.projects[projectID]
	body := template("webhooks/release.json")
	for k, v := range map[string]any{"tag": tag, "name": tag, "action": action, "project": s.hookProject(p),
		"url": s.webURL(s.pathOf(p.ID) + "/-/releases/" + tag)} {
		body[k] = v
	}
	ns := p.NamespaceID
	s.mu.RUnlock()
	return s.fire(ctx, ns, "Release Hook", body, "", nil)
}
