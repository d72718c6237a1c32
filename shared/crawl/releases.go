package crawl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// Ocean v2's releases, in fewer requests (issue #24).
//
// What Ocean v2 reads (integrations/gitlab-v2 at 607beada0e3a, main.py
// on_resync_releases, gitlab/clients/gitlab_client.py get_releases,
// rest_client.py _make_paginated_request, base_client.py): for every
// project of its project set, every page of GET /projects/:id/releases
// with per_page=100 and nothing else (GitLab's default order: released_at
// desc), each release given __project; a 403 or 404 answers {}, read as
// no releases. A project costs Ocean one request per 100 releases (and
// one more when the last page is exactly full).
//
// What GitLab answers (gitlabhq/gitlabhq):
//   - the project listing (lib/api/releases.rb at 017a6c129d6a) checks
//     read_release on the project, then ReleasesFinder
//     (app/finders/releases_finder.rb at 00880613328c): the project's
//     releases with a tag, Release.order_released_desc (released_at alone:
//     ties are left to the database), Entities::Release with current_user;
//   - the group listing, GET /groups/:id/releases, checks read_release on
//     the group (GroupPolicy, app/policies/group_policy.rb at
//     012f9a4b9ec4: a membership of Guest or more; an admin counts as
//     Owner, Group#max_member_access_for_user), then
//     Releases::GroupReleasesFinder
//     (app/finders/releases/group_releases_finder.rb at 1038f06b8654):
//     the releases of parent.projects, the group's own projects (not its
//     subgroups': include_subgroups is no API parameter; not the projects
//     shared with it), ordered released_at desc then id desc, with no
//     check of each project's read_release, and the same
//     Entities::Release with the same current_user, offset pages;
//   - the release entity (lib/api/entities/release.rb at 015890a1b77c)
//     has no project id; its _links.self is the ReleasePresenter's
//     project_release_url (app/presenters/release_presenter.rb at
//     038366a0932c), <project web_url>/-/releases/<tag>, always present,
//     where tag_path and commit_path are left out for a role that cannot
//     download code. No path segment of a group or project can be "-", so
//     the part before the first "/-/releases/" is the project's web_url.
//   - read_release on a project (app/policies/project_policy.rb at
//     002b575a8a48): given with guest access (a member, an admin) or
//     public access, prevented by releases_disabled, which is
//     releases_access_level "disabled" (for everyone, admins included) or
//     "private" for a user who is neither a member of Guest or more nor
//     one who can read all resources (ProjectFeature
//     app/models/project_feature.rb at 08608c8e9e98: releases need Guest).
//     The project entity shows releases_access_level
//     (lib/api/entities/project.rb, ProjectDetails' successor).
//
// So the group listing gives, for a project P of the token's project set
// whose namespace is group G, exactly Ocean's releases of P when:
//   - P's releases_access_level is "enabled" or "private". The token
//     lists P, so it may read it; a non-admin token lists only its
//     memberships (membership=true), each of Guest or more (a project
//     authorization), and an admin reads all resources, so "private"
//     releases are readable too; "disabled" ones never are (Ocean gets a
//     403 and nothing: glsync does not ask).
//   - the token is an admin, or the instance is GitLab.com. For anyone
//     else a self-managed instance's external authorization service, when
//     on, can refuse P (its classification label) although its group
//     lists it: the project policy checks the label without
//     read_cross_project, which BasePolicy takes away only from users who
//     cannot read all resources (app/policies/base_policy.rb at
//     02cf17adf0ff), and nothing a listing returns says whether the
//     service is on. GitLab.com does not offer it.
//   - every release of G's listing has a tag: GroupReleasesFinder does not
//     apply Release.tagged as ReleasesFinder does, but a release without
//     a tag (legacy data only: Release validates the tag's presence)
//     cannot render its _links.self, so GitLab fails the page (500), and
//     the group is then read per project.
// Releases of G's other projects (archived ones outside an active-only
// set, those the token mapping's globs leave out, those with releases
// disabled, empty repositories the per-project kinds skip) are dropped,
// and each kept release is given the __project the per-project reading
// gives it. Per project the group listing's order (released_at desc, id
// desc) is the project listing's, whose ties GitLab leaves to the
// database.
//
// What it costs: ceil(R/100) requests for the R releases of G's own
// projects, against one request per 100 releases of each of the n
// projects read per project. Only groups with two such projects or more
// are read this way, and the listing is given up after its first page
// when GitLab announces more pages than n (releases of projects not read,
// or of so many that the group's pages outnumber its projects): then at
// most one request more than the per-project reading is spent for the
// group. Incremental passes, which read the few changed projects, a
// listing with apiQueryParams or a per-project limit, projects in
// personal namespaces and projects shared into a group keep the
// per-project reading.

// releaseRefFields are the project fields the shared project listing
// keeps for the release reading beyond refFields: the namespace (which
// group's listing holds the project's releases) and releases_access_level
// (whether the token may read them).
var releaseRefFields = []string{"namespace", "releases_access_level"}

// releaseRef copies into ref what the release reading needs of project
// pr: the namespace's id and kind, and releases_access_level when GitLab
// shows it (older versions do not: such projects are read per project).
func releaseRef(ref, pr map[string]any) {
	if ns, ok := pr["namespace"].(map[string]any); ok {
		ref["namespace"] = map[string]any{"id": ns["id"], "kind": ns["kind"]}
	}
	if v, ok := pr["releases_access_level"]; ok {
		ref["releases_access_level"] = v
	}
}

// releasesDisabled reports a project whose releases GitLab refuses to
// every user (releases_access_level "disabled").
func releasesDisabled(pr map[string]any) bool { return pr["releases_access_level"] == "disabled" }

// releasesByGroup reports whether the options leave the release reading
// Ocean's (every release of each project, no filter), which a group
// listing can stand in for.
func (o *Options) releasesByGroup() bool {
	return len(o.APIQueryParams) == 0 && o.LimitPerProject == 0 && !o.ReleasesProjectByProject
}

// projectReleases reads a project's releases as Ocean does: every page of
// GET /projects/:id/releases in GitLab's order (APIQueryParams passed on,
// up to LimitPerProject when set); a 403 or 404 is no releases, Ocean's
// {}. A project whose releases are disabled is not asked: GitLab refuses
// them to everyone.
func (s *Source) projectReleases(ctx context.Context, id int64, pr map[string]any, o Options) (gitlab.Page, error) {
	var out gitlab.Page
	if releasesDisabled(pr) {
		return out, nil
	}
	err := s.Client.WalkOffset(ctx, fmt.Sprintf("projects/%d/releases", id), o.APIQueryParams, func(p gitlab.Page, _ int64) (bool, error) {
		if out.RequestedAt.IsZero() {
			out.RequestedAt = p.RequestedAt
		}
		out.Items = append(out.Items, p.Items...)
		if o.LimitPerProject > 0 && len(out.Items) >= o.LimitPerProject {
			out.Items = out.Items[:o.LimitPerProject]
			return false, nil
		}
		return true, nil
	})
	if err != nil && denied(err) {
		return out, nil
	}
	return out, err
}

// releaseMember is a project whose releases a group listing may hold.
type releaseMember struct {
	id   float64
	info map[string]any // its __project
}

// errGiveUp stops a group listing that would cost more than reading its
// projects one by one.
var errGiveUp = errors.New("crawl: group release listing longer than its projects")

// groupReleases reads, on a full pass with Ocean's options, the releases
// of every group that holds two projects or more of the selection whose
// releases the group listing gives exactly (see the notes above), hands
// them to fn one project at a time, and returns the projects it covered
// (those with no release too). Nothing is covered when the token's
// listings cannot be proved the same (a non-admin token on a self-managed
// instance) or the pass is incremental.
func (s *Source) groupReleases(ctx context.Context, o Options, fn func(gitlab.Page) error) (map[float64]bool, Counts, error) {
	var c Counts
	if !o.releasesByGroup() || incrementalFrom(ctx) != nil {
		return nil, c, nil
	}
	if _, err := s.Identify(ctx); err != nil {
		return nil, c, fmt.Errorf("crawl: identifying token: %w", err)
	}
	if !s.admin && !s.Client.IsGitLabCom() {
		return nil, c, nil
	}
	if err := s.refs.load(ctx, s); err != nil {
		return nil, c, err
	}
	groups := map[float64][]releaseMember{}
	err := s.refs.each(ctx, func(chunk []map[string]any) error {
		for _, pr := range chunk {
			empty, _ := pr["empty_repo"].(bool)
			level := pr["releases_access_level"]
			ns, _ := pr["namespace"].(map[string]any)
			if empty || !ActiveSelected(pr, o.ActiveProjects) || level != "enabled" && level != "private" || ns["kind"] != "group" {
				continue
			}
			g := num(ns["id"])
			groups[g] = append(groups[g], releaseMember{id: num(pr["id"]), info: ProjectInfo(pr)})
		}
		return nil
	})
	if err != nil {
		return nil, c, err
	}
	covered := map[float64]bool{}
	var mu sync.Mutex // guards covered, c and the calls to fn
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, s.Client.InFlightLimit()))
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var firstErr error
	for g, members := range groups {
		if len(members) < 2 {
			continue // one project's own listing costs no more
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			pages, err := s.groupReleaseListing(ctx, int64(g), members)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				// Given up, or refused (403: no Guest membership), or
				// failed (500: a legacy release without a tag): the
				// group's projects are read one by one.
				return
			}
			for _, m := range members {
				covered[m.id] = true
			}
			for _, p := range pages {
				c.Fetched += len(p.Items)
				c.Selected += len(p.Items)
				if firstErr == nil {
					if err := fn(p); err != nil {
						firstErr = err
						cancel()
					}
				}
			}
		})
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = parent.Err() // a group given up for a cancelled pass is no fallback
	}
	if firstErr != nil {
		return nil, c, firstErr
	}
	return covered, c, nil
}

// groupReleaseListing reads GET /groups/:id/releases to its end and
// splits it by project: one page per member with releases, each release
// given its project's __project, in the listing's order. It gives up
// (errGiveUp) after the first page when GitLab announces more pages than
// there are members, or does not count them.
func (s *Source) groupReleaseListing(ctx context.Context, groupID int64, members []releaseMember) ([]gitlab.Page, error) {
	byURL := make(map[string]int, len(members))
	for i, m := range members {
		if u, _ := m.info["web_url"].(string); u != "" {
			byURL[u] = i
		}
	}
	parts := make([]gitlab.Page, len(members))
	err := s.Client.WalkOffset(ctx, fmt.Sprintf("groups/%d/releases", groupID), nil, func(p gitlab.Page, total int64) (bool, error) {
		if parts[0].RequestedAt.IsZero() {
			if total == 0 || total > int64(len(members)) {
				return false, errGiveUp
			}
			for i := range parts {
				parts[i].RequestedAt = p.RequestedAt
			}
		}
		for _, r := range p.Items {
			links, _ := r["_links"].(map[string]any)
			self, _ := links["self"].(string)
			at := strings.Index(self, "/-/releases/")
			if at < 0 {
				return false, fmt.Errorf("crawl: a release of group %d without its project's link (%q)", groupID, self)
			}
			if i, ok := byURL[self[:at]]; ok {
				r["__project"] = members[i].info
				parts[i].Items = append(parts[i].Items, r)
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	out := parts[:0]
	for _, p := range parts {
		if len(p.Items) > 0 {
			out = append(out, p)
		}
	}
	return out, nil
}
