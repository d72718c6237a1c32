package portsink

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/glsync/terraform-provider-glsync/shared/mapping"
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
		blueprint("gitlabSkill", "Agent Skill", "Book", map[string]any{"description": prop("string", "Description"),
			"instructions": prop("string", "Instructions", "markdown"), "path": prop("string", "Path"), "branch": prop("string", "Branch")},
			map[string]any{"service": rel("service", "Service", false)}),
		blueprint("gitlabPlugin", "Agent Plugin", "Plug", map[string]any{"name": prop("string", "Name"), "description": prop("string", "Description"),
			"version": prop("string", "Version"), "providers": prop("array", "Providers")},
			map[string]any{"service": rel("service", "Service", false)}),
	}
}

// Blueprints are the blueprints to create for mapping m, in dependency
// order. For each blueprint the mapping writes, Ocean's definition (from
// the blueprints.json of m's generation, byte for byte) when Ocean has
// that blueprint and it holds more of the properties and relations the
// mapping writes there than glsync's default does: an Ocean mapping gets
// Ocean's blueprints. A property the mapping writes that Ocean's
// blueprint lacks is added (Ocean's own v2 default mapping writes
// hasPortConfig, which its service blueprint does not define), typed
// boolean when it reads a search query's result, else string. Otherwise
// glsync's default of that name; blueprints neither defines are left to
// the user.
func Blueprints(m *mapping.Config) ([]map[string]any, error) {
	var ocean []map[string]any
	if err := json.Unmarshal(mapping.OceanBlueprints(m.Generation), &ocean); err != nil {
		return nil, fmt.Errorf("the blueprints.json of Ocean %s: %w", m.Generation, err)
	}
	oceanByID, ownByID := map[string]map[string]any{}, map[string]map[string]any{}
	for _, bp := range ocean {
		oceanByID[bp["identifier"].(string)] = bp
	}
	for _, bp := range DefaultBlueprints() {
		ownByID[bp["identifier"].(string)] = bp
	}
	type written struct {
		props, rels []string
		boolean     map[string]bool
	}
	uses := map[string]*written{}
	var order []string
	for _, r := range m.Resources {
		id, ok := r.StaticBlueprint()
		if !ok {
			continue
		}
		w := uses[id]
		if w == nil {
			w = &written{boolean: map[string]bool{}}
			uses[id] = w
			order = append(order, id)
		}
		w.props = append(w.props, r.PropertyNames()...)
		w.rels = append(w.rels, r.RelationNames()...)
		for _, p := range r.PropertyNames() {
			if r.PropertyReads(p, "__searchQueries") {
				w.boolean[p] = true
			}
		}
	}
	chosen := map[string]map[string]any{}
	for _, id := range order {
		w := uses[id]
		oc, hasOcean := oceanByID[id]
		own, hasOwn := ownByID[id]
		switch {
		case hasOcean && (!hasOwn || covered(oc, w.props, w.rels) > covered(own, w.props, w.rels)):
			chosen[id] = withProperties(oc, w.props, w.boolean)
		case hasOwn:
			chosen[id] = own
		}
	}
	return dependencyOrder(chosen), nil
}

// covered counts the properties and relations blueprint bp defines.
func covered(bp map[string]any, props, rels []string) int {
	schema, _ := bp["schema"].(map[string]any)
	have, _ := schema["properties"].(map[string]any)
	relations, _ := bp["relations"].(map[string]any)
	n := 0
	for _, p := range props {
		if _, ok := have[p]; ok {
			n++
		}
	}
	for _, r := range rels {
		if _, ok := relations[r]; ok {
			n++
		}
	}
	return n
}

// withProperties returns bp with the properties it lacks added (a copy
// when any is missing).
func withProperties(bp map[string]any, props []string, boolean map[string]bool) map[string]any {
	schema, _ := bp["schema"].(map[string]any)
	have, _ := schema["properties"].(map[string]any)
	var missing []string
	for _, p := range props {
		if _, ok := have[p]; !ok && !slices.Contains(missing, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return bp
	}
	cp := maps.Clone(bp)
	sc := maps.Clone(schema)
	pr := maps.Clone(have)
	if pr == nil {
		pr = map[string]any{}
	}
	for _, p := range missing {
		typ := "string"
		if boolean[p] {
			typ = "boolean"
		}
		pr[p] = map[string]any{"title": p, "type": typ}
	}
	sc["properties"] = pr
	cp["schema"] = sc
	return cp
}

// dependencyOrder sorts blueprints so relation targets come first (Port
// refuses a relation to a blueprint it does not have); a target outside
// the set is assumed to exist.
func dependencyOrder(bps map[string]map[string]any) []map[string]any {
	ids := make([]string, 0, len(bps))
	for id := range bps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []map[string]any
	done, visiting := map[string]bool{}, map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		if done[id] || visiting[id] {
			return // a cycle: Port accepts a blueprint relating to itself
		}
		visiting[id] = true
		rels, _ := bps[id]["relations"].(map[string]any)
		targets := make([]string, 0, len(rels))
		for _, r := range rels {
			if t, _ := r.(map[string]any)["target"].(string); t != "" && bps[t] != nil {
				targets = append(targets, t)
			}
		}
		sort.Strings(targets)
		for _, t := range targets {
			visit(t)
		}
		visiting[id], done[id] = false, true
		out = append(out, bps[id])
	}
	for _, id := range ids {
		visit(id)
	}
	return out
}

// EnsureBlueprints creates the blueprints mapping m writes to that Port
// does not have (see Blueprints); existing ones are never changed. It
// returns the ones created.
func EnsureBlueprints(ctx context.Context, c *port.Client, m *mapping.Config) ([]string, error) {
	bps, err := Blueprints(m)
	if err != nil {
		return nil, err
	}
	var created []string
	for _, bp := range bps {
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
