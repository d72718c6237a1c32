package portsink

import (
	"context"

	"github.com/glsync/terraform-provider-glsync/shared/port"
)

func prop(kind, title string, extra ...string) map[string]any {
	p := map[string]any{"type": kind, "title": title}
	if len(extra) > 0 {
		p["format"] = extra[0]
	}
	return p
}

func rel(target, title string, many bool) map[string]any {
	return map[string]any{"target": target, "title": title, "required": false, "many": many}
}

func blueprint(id, title, icon string, props map[string]any, rels map[string]any) map[string]any {
	return map[string]any{"identifier": id, "title": title, "icon": icon,
		"schema": map[string]any{"properties": props, "required": []any{}}, "relations": rels, "calculationProperties": map[string]any{}}
}

// DefaultBlueprints are the blueprints the embedded default mapping and
// shared/mapping/all-kinds.yml write to, in dependency order.
func DefaultBlueprints() []map[string]any {
	return []map[string]any{
		blueprint("gitlabGroup", "GitLab Group", "GitLab", map[string]any{
			"fullPath": prop("string", "Full path"), "visibility": prop("string", "Visibility"),
			"url": prop("string", "URL", "url"), "description": prop("string", "Description"),
		}, map[string]any{"parentGroup": rel("gitlabGroup", "Parent group", false)}),
		blueprint("service", "Service", "Service", map[string]any{
			"url": prop("string", "URL", "url"), "description": prop("string", "Description"),
			"defaultBranch": prop("string", "Default branch"), "visibility": prop("string", "Visibility"),
			"archived": prop("boolean", "Archived"), "topics": prop("array", "Topics"),
			"lastActivityAt": prop("string", "Last activity", "date-time"),
		}, map[string]any{"group": rel("gitlabGroup", "Group", false)}),
		blueprint("gitlabMergeRequest", "Merge Request", "GitLab", map[string]any{
			"status": prop("string", "Status"), "iid": prop("number", "IID"), "createdAt": prop("string", "Created", "date-time"),
			"updatedAt": prop("string", "Updated", "date-time"), "mergedAt": prop("string", "Merged", "date-time"),
			"link": prop("string", "Link", "url"), "sourceBranch": prop("string", "Source branch"), "targetBranch": prop("string", "Target branch"),
			"author": prop("string", "Author"), "reviewers": prop("array", "Reviewers"),
		}, map[string]any{"service": rel("service", "Service", false)}),
		blueprint("gitlabIssue", "Issue", "GitLab", map[string]any{
			"link": prop("string", "Link", "url"), "description": prop("string", "Description"), "createdAt": prop("string", "Created", "date-time"),
			"closedAt": prop("string", "Closed", "date-time"), "updatedAt": prop("string", "Updated", "date-time"), "creator": prop("string", "Creator"),
			"status": prop("string", "Status"), "labels": prop("array", "Labels"), "confidential": prop("boolean", "Confidential"),
		}, map[string]any{"service": rel("service", "Service", false)}),
		blueprint("gitlabPipeline", "Pipeline", "GitLab", map[string]any{
			"status": prop("string", "Status"), "ref": prop("string", "Ref"), "link": prop("string", "Link", "url"),
		}, map[string]any{"service": rel("service", "Service", false)}),
		blueprint("gitlabJob", "Job", "GitLab", map[string]any{
			"status": prop("string", "Status"), "stage": prop("string", "Stage"), "link": prop("string", "Link", "url"),
		}, map[string]any{"pipeline": rel("gitlabPipeline", "Pipeline", false)}),
		blueprint("gitlabRelease", "Release", "GitLab", map[string]any{
			"tag": prop("string", "Tag"), "releasedAt": prop("string", "Released", "date-time"), "link": prop("string", "Link", "url"),
		}, map[string]any{"service": rel("service", "Service", false)}),
		blueprint("gitlabGroupMembers", "Group Members", "GitLab", map[string]any{
			"members": prop("array", "Members"), "maintainers": prop("array", "Maintainers"),
		}, map[string]any{}),
		blueprint("gitlabTag", "Tag", "GitLab", map[string]any{"commit": prop("string", "Commit")},
			map[string]any{"service": rel("service", "Service", false)}),
		blueprint("gitlabBranch", "Branch", "GitLab", map[string]any{"protected": prop("boolean", "Protected"), "link": prop("string", "Link", "url")},
			map[string]any{"service": rel("service", "Service", false)}),
		blueprint("gitlabDeployment", "Deployment", "GitLab", map[string]any{"environment": prop("string", "Environment"), "status": prop("string", "Status")},
			map[string]any{"service": rel("service", "Service", false)}),
		blueprint("gitlabProjectMembers", "Project Members", "GitLab", map[string]any{"members": prop("array", "Members")}, map[string]any{}),
		blueprint("gitlabMember", "Member", "User", map[string]any{"state": prop("string", "State"), "link": prop("string", "Link", "url")}, map[string]any{}),
		blueprint("gitlabFolder", "Folder", "Folder", map[string]any{"branch": prop("string", "Branch")},
			map[string]any{"service": rel("service", "Service", false)}),
	}
}

// EnsureBlueprints creates the default blueprints Port does not have;
// existing ones are never changed. It returns the ones created.
func EnsureBlueprints(ctx context.Context, c *port.Client) ([]string, error) {
	var created []string
	for _, bp := range DefaultBlueprints() {
		ok, err := c.EnsureBlueprint(ctx, bp)
		if err != nil {
			return created, err
		}
		if ok {
			created = append(created, bp["identifier"].(string))
		}
	}
	return created, nil
}
