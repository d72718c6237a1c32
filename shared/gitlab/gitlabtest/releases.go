package gitlabtest

import (
	"fmt"
	"net/http"
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
