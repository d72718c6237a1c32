package hooks

import (
	"context"
	"fmt"
	"net/http"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// Owner is whose hooks a call is about: a group's (GroupID), a project's
// (ProjectID) or, both zero, the system's. GitLab serves the three at
// parallel paths with the same hook shape, so one set of functions reads
// and writes all of them (the Terraform resources have one per owner).
type Owner struct{ GroupID, ProjectID int64 }

// GroupOwner is the owner of a group's hooks (0: the system's).
func GroupOwner(groupID int64) Owner { return Owner{GroupID: groupID} }

// ProjectOwner is the owner of a project's hooks.
func ProjectOwner(projectID int64) Owner { return Owner{ProjectID: projectID} }

// System reports the system's hooks.
func (o Owner) System() bool { return o.GroupID == 0 && o.ProjectID == 0 }

func (o Owner) path() string {
	switch {
	case o.ProjectID != 0:
		return fmt.Sprintf("projects/%d/hooks", o.ProjectID)
	case o.GroupID != 0:
		return fmt.Sprintf("groups/%d/hooks", o.GroupID)
	}
	return "hooks"
}

// CreateRawOf is CreateRaw for any owner.
func CreateRawOf(ctx context.Context, c *gitlab.Client, o Owner, body map[string]any) (Existing, error) {
	var raw map[string]any
	if _, err := c.Do(ctx, http.MethodPost, o.path(), body, &raw); err != nil {
		return Existing{}, explain(err, o)
	}
	return existing(raw, o), nil
}

// UpdateRawOf is UpdateRaw for any owner.
func UpdateRawOf(ctx context.Context, c *gitlab.Client, o Owner, hookID int64, body map[string]any) (Existing, error) {
	var raw map[string]any
	if _, err := c.Do(ctx, http.MethodPut, fmt.Sprintf("%s/%d", o.path(), hookID), body, &raw); err != nil {
		return Existing{}, explain(err, o)
	}
	return existing(raw, o), nil
}

// GetOf is Get for any owner: found is false when GitLab answers 404.
func GetOf(ctx context.Context, c *gitlab.Client, o Owner, hookID int64) (e Existing, found bool, err error) {
	var raw map[string]any
	status, err := c.Do(ctx, http.MethodGet, fmt.Sprintf("%s/%d", o.path(), hookID), nil, &raw)
	if status == http.StatusNotFound {
		return Existing{}, false, nil
	}
	if err != nil {
		return Existing{}, false, explain(err, o)
	}
	return existing(raw, o), true, nil
}

// DeleteOf is Delete for any owner; a hook already gone is not an error.
func DeleteOf(ctx context.Context, c *gitlab.Client, o Owner, hookID int64) error {
	status, err := c.Do(ctx, http.MethodDelete, fmt.Sprintf("%s/%d", o.path(), hookID), nil, nil)
	if status == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return explain(err, o)
	}
	return nil
}

// FindByURLOf is FindByURL for any owner.
func FindByURLOf(ctx context.Context, c *gitlab.Client, o Owner, url string) (*Existing, error) {
	list, err := List(ctx, c, o)
	if err != nil {
		return nil, err
	}
	return firstByURL(list, url), nil
}

// List reads every hook of an owner, sorted by id (the data sources that
// list hooks, and the search for a hook already at a URL).
func List(ctx context.Context, c *gitlab.Client, o Owner) ([]Existing, error) {
	list, err := listHooks(ctx, c, o)
	if err != nil {
		return nil, explain(err, o)
	}
	return list, nil
}
