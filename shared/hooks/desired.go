// Desired hooks: the hooks the configuration wants, one per root group, per
// group of the override mapping or per personal project, or one system hook.

package hooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// Desired is a hook the configuration wants.
type Desired struct {
	// Scope is GroupScope(id) or SystemScope.
	Scope     string
	GroupID   int64
	GroupPath string
	// ProjectID and ProjectPath are set, instead of the group's, for a
	// personal project's hook (ProjectScope).
	ProjectID   int64
	ProjectPath string
	URL         string
	// Flags are the GitLab event flags to enable.
	Flags map[string]bool
	// Client is the token's client that manages the hook.
	Client *gitlab.Client
	// Signing asks for a signing token on the hook (webhookSigning).
	Signing bool
}

// Problem is something reconciliation could not do; the rest goes on.
type Problem struct {
	Scope string
	Err   error
}

func (p Problem) Error() string { return p.Err.Error() }

// Settings are what the desired set depends on.
type Settings struct {
	AppHost       string
	UseSystemHook bool
	Override      hookspec.OverrideMapping
	// Signing gives every desired hook a signing token (webhookSigning).
	Signing bool
}

// Source pairs a token's crawl source (for its root groups) with the
// override for that token, if any.
type Source = crawl.Source

// DesiredHooks works out the hooks the settings want. Unknown override
// group paths and a missing admin token are problems, not errors: the
// other hooks are still wanted.
func DesiredHooks(ctx context.Context, st Settings, sources []*Source) ([]Desired, []Problem, error) {
	out, problems, err := desiredHooks(ctx, st, sources)
	for i := range out {
		out[i].Signing = st.Signing
	}
	return out, problems, err
}

func desiredHooks(ctx context.Context, st Settings, sources []*Source) ([]Desired, []Problem, error) {
	if st.AppHost == "" {
		return nil, nil, errors.New("hooks: appHost is not set; real-time hooks need the URL GitLab can reach glsyncd at")
	}
	base := strings.TrimRight(st.AppHost, "/")
	if st.UseSystemHook {
		for _, s := range sources {
			u, err := s.Identify(ctx)
			if err != nil {
				return nil, nil, &Skipped{Reason: SkipGitLab, What: "reading token " + s.Client.Masked + "'s user from GitLab", Err: err}
			}
			if u.IsAdmin {
				return []Desired{{Scope: SystemScope, URL: base + SystemHookPath,
					Flags: Flags(hookspec.SystemEvents), Client: s.Client}}, nil, nil
			}
		}
		return nil, []Problem{{Scope: SystemScope, Err: fmt.Errorf("useSystemHook is set but no token in tokenMapping is an administrator's: "+
			"create the system hook by hand in GitLab (Admin > System hooks) with URL %s and the triggers push, merge request and repository update, "+
			"with a secret token, and put that secret in systemHookSecret (or GLSYNC_SYSTEM_HOOK_SECRET)", base+SystemHookPath)}}, nil
	}
	var out []Desired
	var problems []Problem
	seen := map[int64]bool{}
	if len(st.Override) > 0 {
		for _, th := range st.Override {
			src := findSource(sources, th.Token)
			if src == nil {
				return nil, nil, fmt.Errorf("hooks: tokenGroupHooksOverrideMapping: token %s is not in tokenMapping", tokenmap.Mask(th.Token))
			}
			for _, g := range th.Groups {
				var grp struct {
					ID       int64  `json:"id"`
					FullPath string `json:"full_path"`
				}
				path := strings.Trim(g.FullPath, "/")
				status, err := src.Client.Do(ctx, http.MethodGet, "groups/"+gitlab.PathEscape(path), nil, &grp)
				if status == http.StatusNotFound {
					problems = append(problems, Problem{Scope: "group:" + path, Err: fmt.Errorf("tokenGroupHooksOverrideMapping: group %q: GitLab does not know this group (or token %s cannot see it); no hook created for it", path, src.Client.Masked)})
					continue
				}
				if err != nil {
					return nil, nil, &Skipped{Reason: SkipGitLab, What: fmt.Sprintf("reading group %q from GitLab", path), Err: err}
				}
				if seen[grp.ID] {
					continue
				}
				seen[grp.ID] = true
				out = append(out, Desired{Scope: GroupScope(grp.ID), GroupID: grp.ID, GroupPath: grp.FullPath,
					URL: base + GroupHookPath + strconv.FormatInt(grp.ID, 10), Flags: Flags(g.EventsOrAll()), Client: src.Client})
			}
		}
		return personalHooks(ctx, base, sources, out, problems)
	}
	for _, src := range sources {
		roots, err := src.RootGroupObjects(ctx)
		if err != nil {
			return nil, nil, &Skipped{Reason: SkipGitLab, What: "reading token " + src.Client.Masked + "'s root groups from GitLab", Err: err}
		}
		for _, g := range roots {
			if seen[g.ID] {
				continue // first token in tokenMapping order manages it
			}
			seen[g.ID] = true
			out = append(out, Desired{Scope: GroupScope(g.ID), GroupID: g.ID, GroupPath: g.FullPath,
				URL: base + GroupHookPath + strconv.FormatInt(g.ID, 10), Flags: Flags(hookspec.GroupEvents), Client: src.Client})
		}
	}
	return personalHooks(ctx, base, sources, out, problems)
}

func findSource(sources []*Source, token string) *Source {
	for _, s := range sources {
		if s.Entry.Token == token {
			return s
		}
	}
	return nil
}

// hookTarget names a desired hook's group, or the system.
func hookTarget(d Desired) string {
	if d.Scope == SystemScope {
		return "the system"
	}
	if d.ProjectID != 0 {
		return "project " + d.ProjectPath
	}
	return "group " + d.GroupPath
}
