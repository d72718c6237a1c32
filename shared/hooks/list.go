package hooks

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// Skipped is why a reconciliation cycle planned nothing: glsync could not
// read its own store (the hooks' secrets) or GitLab (its groups, its list
// of hooks). A plan made without that knowledge could take a hook it
// cannot see, or whose secret it cannot read, for one to replace, and
// replacing a hook loses the deliveries GitLab holds for it (they can
// never be resent), so the cycle changes nothing and the next one tries
// again.
type Skipped struct {
	// Reason is SkipStore or SkipGitLab, the label of the metric that
	// counts skipped cycles.
	Reason string
	// What names the read that failed.
	What string
	Err  error
}

func (e *Skipped) Error() string {
	return fmt.Sprintf("hooks: reconciliation skipped, nothing changed (%s failed; the next cycle tries again): %v", e.What, e.Err)
}

func (e *Skipped) Unwrap() error { return e.Err }

// Reasons of a skipped cycle.
const (
	SkipStore  = "store"
	SkipGitLab = "gitlab"
)

// FindByURL returns the hook of a group (groupID 0: the system's) that
// delivers to url, the oldest when there are duplicates, or nil. It is how
// reconciliation (glsyncd hooks apply) and the Terraform resources
// recognise a hook already in place instead of creating a second one.
func FindByURL(ctx context.Context, c *gitlab.Client, groupID int64, url string) (*Existing, error) {
	return FindByURLOf(ctx, c, GroupOwner(groupID), url)
}

// firstByURL is the first hook of list (sorted by id) at url, or nil.
func firstByURL(list []Existing, url string) *Existing {
	for i := range list {
		if sameURL(list[i].URL, url) {
			return &list[i]
		}
	}
	return nil
}

func sameURL(a, b string) bool {
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

// listHooks reads every page of a group's, a project's or the system's
// hooks.
func listHooks(ctx context.Context, c *gitlab.Client, o Owner) ([]Existing, error) {
	var out []Existing
	err := c.ListOffset(ctx, o.path(), nil, func(p gitlab.Page) error {
		for _, h := range p.Items {
			out = append(out, existing(h, o))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hooks: listing %s: %w", o.path(), err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
