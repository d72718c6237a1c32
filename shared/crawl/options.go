package crawl

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// Options are a kind's listing options: the selector's (see
// selector.Options) and the crawler's own.
type Options struct {
	selector.Options
	// JobsPipelineByPipeline reads JobsPerPipeline's jobs with Ocean's
	// own requests, a listing per pipeline, instead of the project's job
	// listing (see pipelineJobsFromProject): the reading the benchmarks
	// and tests check the cheaper one against. No selector sets it.
	JobsPipelineByPipeline bool
	// ReleasesProjectByProject reads releases with a listing per project,
	// as Ocean does, never a group's listing (see groupReleases): the
	// reading the benchmarks check the cheaper one against. No selector
	// sets it.
	ReleasesProjectByProject bool
	// regex is the compiled Regex (see Compile).
	regex *regexp.Regexp
	// SpecPaths and Branch select GitOps spec files.
	SpecPaths []string
	Branch    string
	Now       time.Time
}

// SearchQuery is a named GitLab search run per project.
type SearchQuery = selector.SearchQuery

// Compile prepares the options (the branch regex).
func (o *Options) Compile() error {
	if o.Regex == "" {
		return nil
	}
	re, err := regexp.Compile(o.Regex)
	if err != nil {
		return fmt.Errorf("regex %q: %w", o.Regex, err)
	}
	o.regex = re
	return nil
}

// MergeRequestOptions is the former name of Options.
type MergeRequestOptions = Options

// BranchSelected reports whether the branch options select branch name of
// a project whose default branch is def, as a resync would: only the
// default branch with DefaultBranchOnly, else GitLab's search (a
// substring; ^term and term$ anchor it) and then Regex. Call Compile
// first when Regex is set.
func (o *Options) BranchSelected(name, def string) bool {
	if o.DefaultBranchOnly {
		return name == def
	}
	if q := o.Search; q != "" {
		switch {
		case strings.HasPrefix(q, "^"):
			if !strings.HasPrefix(name, q[1:]) {
				return false
			}
		case strings.HasSuffix(q, "$"):
			if !strings.HasSuffix(name, q[:len(q)-1]) {
				return false
			}
		case !strings.Contains(name, q):
			return false
		}
	}
	return o.regex == nil || o.regex.MatchString(name)
}

// Resource is what a listing needs of a mapping's resource
// (*mapping.Resource is one): its kind and selector options, and whether
// its expressions read a field, so that an enrichment no expression reads
// costs no request. The crawler declares it so as not to import the
// mapping, which stands beside it.
type Resource interface {
	SelectorOptions() (kind string, o selector.Options)
	Reads(field string) bool
}

// FromSelector turns a mapping resource's selector options into listing
// options (the resync and the webhook handlers share it). Enrichments
// that cost requests per object are asked for only when the resource's
// expressions read them: Ocean v1 adds __languages to every project, v2
// when includeLanguages is set; either way a mapping that never reads
// .__languages does not pay for it.
func FromSelector(r Resource) Options {
	kind, so := r.SelectorOptions()
	out := Options{Options: so}
	out.Files.Generation = so.Generation
	out.IncludeLanguages = false
	if kind == selector.KindProject || kind == selector.KindProjectWithMembers {
		wanted := so.IncludeLanguages || so.Generation == selector.OceanV1
		out.IncludeLanguages = wanted && r.Reads("__languages")
		out.IncludeLabels = so.IncludeLabels && kind == selector.KindProject && r.Reads("__labels")
	}
	return out
}

// ResourceGroup is the resources of a kind that share listing options:
// one listing serves them all.
type ResourceGroup[R Resource] struct {
	Options   Options
	Resources []R
}

// GroupResources groups a kind's resources by their listing options, in
// file order. Resources with the same selector options (the usual case)
// share one listing; a resource with other options (another file glob,
// other merge request states, other project extras) gets its own, so it
// sees exactly the objects and fields its selector asks for. No resources
// give no group: a caller that reads without resources (the resync's
// GitOps kind, whose spec files declare their own entities) says so
// itself, so that a push never reads a kind the mapping does not have.
func GroupResources[R Resource](resources []R) []ResourceGroup[R] {
	var out []ResourceGroup[R]
	index := map[selector.Key]int{}
	for _, r := range resources {
		o := FromSelector(r)
		// The crawler's own options are the same for every resource:
		// the selector's tell listings apart.
		k := o.Key()
		if gi, ok := index[k]; ok {
			out[gi].Resources = append(out[gi].Resources, r)
			continue
		}
		index[k] = len(out)
		out = append(out, ResourceGroup[R]{Options: o, Resources: []R{r}})
	}
	return out
}

// Selects reports whether a resync with these options lists obj, an
// object of kind that a webhook event fetched, in project (nil for kinds
// that live in no project). It applies to one object the filters the
// listings of this package ask GitLab for (states, windows, labels, issue
// type, archived projects, query parameters), so an event writes exactly
// what the next resync would, and deletes what it would not list.
func (o *Options) Selects(kind string, obj, project map[string]any) bool {
	if project != nil {
		if PendingDeletion(project) {
			return false // resyncs leave projects pending deletion out
		}
		active := o.ActiveProjects
		if kind == selector.KindFile || kind == selector.KindSkill || kind == selector.KindPlugin {
			active = o.ActiveGroups // Ocean applies it to the projects listed
		}
		if !ActiveSelected(project, active) {
			return false
		}
	}
	switch kind {
	case selector.KindMergeRequest:
		return o.MergeRequestSelected(obj)
	case selector.KindIssue:
		if !o.IssueSelected(obj) {
			return false
		}
		if o.IssueType != "" && obj["issue_type"] != o.IssueType && obj["type"] != strings.ToUpper(o.IssueType) {
			return false
		}
		if archived, _ := project["archived"].(bool); o.NonArchived && archived {
			return false
		}
		have, _ := obj["labels"].([]any)
		for _, want := range o.Labels {
			found := false
			for _, l := range have {
				if name, _ := l.(string); name == strings.TrimSpace(want) {
					found = true
				}
			}
			if !found {
				return false
			}
		}
		return true
	case selector.KindPipeline:
		if o.CreatedAfterDays > 0 && !within(str(obj["created_at"]), o.since(o.CreatedAfterDays).UTC().Format(time.RFC3339), "") {
			return false
		}
		return pipelineMatches(o.APIQueryParams, obj)
	case selector.KindJob:
		if scopes := append(o.APIQueryParams["scope[]"], o.APIQueryParams["scope"]...); len(scopes) > 0 && !slices.Contains(scopes, str(obj["status"])) {
			return false
		}
		pl, _ := obj["pipeline"].(map[string]any)
		return len(o.PipelineQueryParams) == 0 || pipelineMatches(o.PipelineQueryParams, pl)
	case selector.KindDeployment:
		return o.DeploymentSelected(obj)
	case selector.KindBranch:
		def, _ := project["default_branch"].(string)
		return o.BranchSelected(str(obj["name"]), def)
	}
	return true
}

// pipelineMatches applies GitLab's pipeline listing filters to one
// pipeline (a pipeline object, or a job's "pipeline").
func pipelineMatches(q url.Values, pl map[string]any) bool {
	for _, f := range []string{"status", "ref", "source", "sha", "name"} {
		if v := q.Get(f); v != "" && str(pl[f]) != v {
			return false
		}
	}
	if v := q.Get("username"); v != "" {
		u, _ := pl["user"].(map[string]any)
		if str(u["username"]) != v {
			return false
		}
	}
	switch q.Get("scope") {
	case "running", "pending":
		if str(pl["status"]) != q.Get("scope") {
			return false
		}
	case "finished":
		if !slices.Contains([]string{"success", "failed", "canceled", "skipped"}, str(pl["status"])) {
			return false
		}
	case "tags":
		if tag, _ := pl["tag"].(bool); !tag {
			return false
		}
	case "branches":
		if tag, _ := pl["tag"].(bool); tag {
			return false
		}
	}
	for _, w := range []struct{ field, after, before string }{
		{"updated_at", q.Get("updated_after"), q.Get("updated_before")},
		{"created_at", q.Get("created_after"), q.Get("created_before")},
	} {
		if (w.after != "" || w.before != "") && !within(str(pl[w.field]), w.after, w.before) {
			return false
		}
	}
	return true
}

func str(v any) string { s, _ := v.(string); return s }

// ObjectProject is the GitLab project an object of kind lives in (0 for
// kinds that live in no project, and for projects themselves): what the
// catalog records so that a project's destruction removes the entities
// of its issues, pipelines, files and the rest.
func ObjectProject(kind string, obj map[string]any) int64 {
	switch kind {
	case selector.KindGroup, selector.KindGroupWithMembers, selector.KindMember, selector.KindProject, selector.KindProjectWithMembers:
		return 0
	case selector.KindIssue, selector.KindMergeRequest:
		return int64(num(obj["project_id"]))
	}
	for _, key := range []string{"__project", "repo"} {
		if m, ok := obj[key].(map[string]any); ok {
			if id := int64(num(m["id"])); id != 0 {
				return id
			}
		}
	}
	return 0
}
