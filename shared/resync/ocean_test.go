package resync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// oceanMapping parses a one-resource mapping under an Ocean generation.
func oceanMapping(t *testing.T, gen mapping.Generation, kind, selector, mappings string) *mapping.Config {
	t.Helper()
	doc := "resources:\n  - kind: " + kind + "\n    selector:\n      query: 'true'\n" + selector +
		"    port:\n      entity:\n        mappings:\n" + mappings
	m, err := mapping.ParseWith([]byte(doc), mapping.ParseOptions{Generation: gen})
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	return m
}

const idMapping = "          identifier: .id | tostring\n          blueprint: '\"x\"'\n"

// TestMergeRequestDefaults checks each generation's merge request window
// with objects on both sides of its boundaries: v2 lists every opened
// merge request whatever its age and applies updatedAfter (90 days) to
// the other states; v1 lists every opened one and closed, locked and
// merged ones updated in the last 14 days.
func TestMergeRequestDefaults(t *testing.T) {
	e := newEnv(t, allOf)
	ps := e.sim.Projects()
	now := time.Now()
	mk := func(i int, state string, age time.Duration) int64 {
		mr := e.sim.AddMergeRequest(ps[i].ID, state)
		e.sim.UpdateMergeRequest(mr.ID, func(m *gitlabtest.MergeRequest) { m.State = state })
		e.sim.BackdateMergeRequest(mr.ID, now.Add(-age))
		return mr.ID
	}
	day := 24 * time.Hour
	oldOpen := mk(3, "opened", 200*day)
	newOpen := mk(4, "opened", time.Hour)
	merged10 := mk(5, "merged", 10*day)
	merged20 := mk(6, "merged", 20*day)
	merged200 := mk(7, "merged", 200*day)
	closed10 := mk(8, "closed", 10*day)

	got := func(m *mapping.Config) map[int64]bool {
		t.Helper()
		st := freshStore(t)
		e.mustResync(t, m, st)
		out := map[int64]bool{}
		for _, id := range idsOf(t, st, "x") {
			n, _ := strconv.ParseInt(id, 10, 64)
			out[n] = true
		}
		return out
	}
	check := func(name string, have map[int64]bool, want map[int64]bool) {
		t.Helper()
		for id, w := range want {
			if have[id] != w {
				t.Errorf("%s: merge request %d synced=%v, want %v", name, id, have[id], w)
			}
		}
	}
	v2 := got(oceanMapping(t, mapping.OceanV2, "merge-request", "", idMapping))
	check("v2 defaults", v2, map[int64]bool{oldOpen: true, newOpen: true, merged10: false, closed10: false})
	v2m := got(oceanMapping(t, mapping.OceanV2, "merge-request", "      states: [opened, merged]\n", idMapping))
	check("v2 opened+merged", v2m, map[int64]bool{oldOpen: true, newOpen: true, merged10: true, merged20: true, merged200: false, closed10: false})
	v1 := got(oceanMapping(t, mapping.OceanV1, "merge-request", "", idMapping))
	check("v1 defaults", v1, map[int64]bool{oldOpen: true, newOpen: true, merged10: true, closed10: true, merged20: false, merged200: false})
	// glsync's former behaviour stays reachable.
	win := got(oceanMapping(t, mapping.OceanV2, "merge-request", "      updatedAfter: '90'\n      updatedAfterAppliesToOpened: 'yes'\n", idMapping))
	check("window on opened", win, map[int64]bool{oldOpen: false, newOpen: true})
}

// TestIssueDefaults: both generations list issues of every state and age;
// v2 leaves out issues of archived projects (nonArchived), v1 does not.
func TestIssueDefaults(t *testing.T) {
	e := newEnv(t, allOf)
	var archived, active gitlabtest.ProjectInfo
	for _, p := range e.sim.Projects() {
		if p.Archived && archived.ID == 0 {
			archived = p
		}
		if !p.Archived && !p.EmptyRepo && active.ID == 0 {
			active = p
		}
	}
	if archived.ID == 0 || active.ID == 0 {
		t.Fatal("the organisation needs an archived and an active project")
	}
	oldClosed := e.sim.AddIssue(active.ID, "old closed", false)
	e.sim.UpdateIssue(oldClosed.ID, func(i *gitlabtest.Issue) { i.State = "closed" })
	e.sim.BackdateIssue(oldClosed.ID, time.Now().Add(-400*24*time.Hour))
	inArchived := e.sim.AddIssue(archived.ID, "in an archived project", false)
	for _, tc := range []struct {
		gen          mapping.Generation
		wantArchived bool
	}{{mapping.OceanV2, false}, {mapping.OceanV1, true}} {
		st := freshStore(t)
		e.mustResync(t, oceanMapping(t, tc.gen, "issue", "", idMapping), st)
		have := map[string]bool{}
		for _, id := range idsOf(t, st, "x") {
			have[id] = true
		}
		if !have[strconv.FormatInt(oldClosed.ID, 10)] {
			t.Errorf("%s: a closed issue 400 days old is not synced", tc.gen)
		}
		if have[strconv.FormatInt(inArchived.ID, 10)] != tc.wantArchived {
			t.Errorf("%s: issue of an archived project synced=%v, want %v", tc.gen, !tc.wantArchived, tc.wantArchived)
		}
	}
}

// TestPipelineDefaults: v1 lists pipelines created in the last 14 days,
// v2 every pipeline, on every page (no per-project cap).
func TestPipelineDefaults(t *testing.T) {
	e := newEnv(t, allOf)
	p := e.service(t)
	recent, _ := e.sim.AddPipeline(p.ID, "success", "build")
	old, _ := e.sim.AddPipeline(p.ID, "success", "build")
	e.sim.BackdatePipeline(old.ID, time.Now().Add(-20*24*time.Hour))
	many := 0
	for i := 0; i < 130; i++ { // more than a page
		e.sim.AddPipeline(p.ID, "success", "build")
		many++
	}
	for _, tc := range []struct {
		gen     mapping.Generation
		wantOld bool
	}{{mapping.OceanV2, true}, {mapping.OceanV1, false}} {
		st := freshStore(t)
		e.mustResync(t, oceanMapping(t, tc.gen, "pipeline", "", idMapping+"          properties:\n            project: .__project.path_with_namespace\n"), st)
		have := map[string]bool{}
		n := 0
		ents := entitiesOf(t, st, "x")
		for _, x := range ents {
			have[x.Identifier] = true
			if x.Properties["project"] == p.PathWithNamespace {
				n++
			}
		}
		if !have[strconv.FormatInt(recent.ID, 10)] || have[strconv.FormatInt(old.ID, 10)] != tc.wantOld {
			t.Errorf("%s: recent synced=%v, 20-day-old synced=%v (want %v)", tc.gen, have[strconv.FormatInt(recent.ID, 10)], have[strconv.FormatInt(old.ID, 10)], tc.wantOld)
		}
		if n < many+1 {
			t.Errorf("%s: %d pipelines of %s synced, want every one (%d+)", tc.gen, n, p.PathWithNamespace, many+1)
		}
	}
}

// TestJobDefaults checks each generation's job set through the mapping's
// defaults: v2 the first 100 jobs of every pipeline as the pipeline's
// listing shows them (retried ones left out, created ones kept), v1 every
// job of the project's listing (retried ones kept, created ones left out);
// v2 reads the finished pipelines' jobs from the project's listing (two
// pages here, within its budget of three for six finished pipelines), so
// it makes fewer pipeline job listings than there are pipelines.
func TestJobDefaults(t *testing.T) {
	e := newEnv(t, allOf)
	p := e.service(t)
	names := make([]string, 130)
	for i := range names {
		names[i] = fmt.Sprintf("job-%03d", i)
	}
	_, big := e.sim.AddPipeline(p.ID, "success", names...)
	e.sim.RetryJob(big[129].ID, "success")
	_, js := e.sim.AddPipeline(p.ID, "failed", "build", "test")
	e.sim.RetryJob(js[0].ID, "failed")
	_, js = e.sim.AddPipeline(p.ID, "running", "build", "test", "deploy")
	e.sim.SetJobStatus(js[0].ID, "success")
	e.sim.SetJobStatus(js[2].ID, "created")
	for range 4 {
		e.sim.AddPipeline(p.ID, "success", "build", "test", "deploy")
	}
	nonEmpty := map[int64]bool{}
	for _, x := range e.sim.Projects() {
		nonEmpty[x.ID] = !x.EmptyRepo
	}
	v1, v2 := map[string]bool{}, map[string]bool{}
	perPipeline := map[int64]int{}
	pipelines := map[int64]bool{}
	jobs := e.sim.Jobs()
	for i := len(jobs) - 1; i >= 0; i-- { // newest first
		j := jobs[i]
		if !nonEmpty[j.ProjectID] {
			continue
		}
		pipelines[j.PipelineID] = true
		id := strconv.FormatInt(j.ID, 10)
		if j.Status != "created" {
			v1[id] = true
		}
		if !j.Retried && perPipeline[j.PipelineID] < 100 {
			v2[id] = true
			perPipeline[j.PipelineID]++
		}
	}
	for _, tc := range []struct {
		gen  mapping.Generation
		want map[string]bool
	}{{mapping.OceanV2, v2}, {mapping.OceanV1, v1}} {
		st := freshStore(t)
		e.sim.ResetRequests()
		e.mustResync(t, oceanMapping(t, tc.gen, "job", "", idMapping), st)
		got := map[string]bool{}
		for _, id := range idsOf(t, st, "x") {
			got[id] = true
		}
		for id := range tc.want {
			if !got[id] {
				t.Errorf("%s: job %s missing", tc.gen, id)
			}
		}
		for id := range got {
			if !tc.want[id] {
				t.Errorf("%s: job %s synced, not in Ocean's set", tc.gen, id)
			}
		}
		counts, _ := e.sim.Requests()
		if tc.gen == mapping.OceanV2 && counts["GET /projects/:id/pipelines/:id/jobs"] >= len(pipelines) {
			t.Errorf("v2: %d pipeline job listings for %d pipelines", counts["GET /projects/:id/pipelines/:id/jobs"], len(pipelines))
		}
	}
}

// entitiesOf lists a store's entities of one blueprint.
func entitiesOf(t *testing.T, st catalog.Store, blueprint string) []*catalog.Entity {
	t.Helper()
	ents, err := st.List(context.Background(), catalog.Filter{Blueprint: blueprint})
	if err != nil {
		t.Fatal(err)
	}
	return ents
}

// idsOf lists a store's identifiers of one blueprint.
func idsOf(t *testing.T, st catalog.Store, blueprint string) []string {
	t.Helper()
	var out []string
	for _, e := range entitiesOf(t, st, blueprint) {
		out = append(out, e.Identifier)
	}
	return out
}

// TestFileObjectShape: one object per file in Ocean's shape (GitLab's
// Repository Files API fields, project_id as a string, path), content
// parsed as each generation parses it, and file:// references inside
// the content resolved from the repository root (Ocean v2's
// _resolve_file_references).
func TestFileObjectShape(t *testing.T) {
	e := newEnv(t, allOf)
	p := e.service(t)
	e.sim.SetFile(p.ID, "catalog/multi.yml", "name: a\nowner: file://docs/owner.txt\n---\nname: b\nlinks: [file://docs/owner.txt]\n")
	e.sim.SetFile(p.ID, "catalog/single.yml", "name: solo\n")
	e.sim.SetFile(p.ID, "docs/owner.txt", "team-x\n")
	sel := "      files: {path: 'catalog/*.yml', repos: [" + p.PathWithNamespace + "], searchStrategy: repositoryTree}\n"
	maps := "          identifier: .file.path\n          blueprint: '\"f\"'\n          properties:\n            file: .file\n            repo: .repo.path_with_namespace\n"
	files := func(gen mapping.Generation) map[string]map[string]any {
		st := freshStore(t)
		e.mustResync(t, oceanMapping(t, gen, "file", sel, maps), st)
		out := map[string]map[string]any{}
		for _, x := range entitiesOf(t, st, "f") {
			if x.Properties["repo"] != p.PathWithNamespace {
				t.Fatalf("repo: %v", x.Properties["repo"])
			}
			out[x.Identifier] = x.Properties["file"].(map[string]any)
		}
		return out
	}
	v2 := files(mapping.OceanV2)
	if len(v2) != 2 {
		t.Fatalf("v2: %d file objects, want one per file", len(v2))
	}
	multi := v2["catalog/multi.yml"]
	for _, k := range []string{"file_name", "file_path", "size", "encoding", "content_sha256", "ref", "blob_id", "commit_id", "last_commit_id", "execute_filemode"} {
		if _, ok := multi[k]; !ok {
			t.Errorf("file object lacks GitLab's %s: %v", k, multi)
		}
	}
	if multi["project_id"] != strconv.FormatInt(p.ID, 10) || multi["path"] != "catalog/multi.yml" || multi["file_name"] != "multi.yml" {
		t.Fatalf("project_id, path, file_name: %v %v %v", multi["project_id"], multi["path"], multi["file_name"])
	}
	docs, _ := multi["content"].([]any)
	if len(docs) != 2 {
		t.Fatalf("v2 multi-document content: %v", multi["content"])
	}
	first, second := docs[0].(map[string]any), docs[1].(map[string]any)
	if first["owner"] != "team-x\n" || second["links"].([]any)[0] != "file://docs/owner.txt" {
		t.Fatalf("file:// references: object value %q (want the file's text), list item %v (left as is)", first["owner"], second["links"])
	}
	if single, _ := v2["catalog/single.yml"]["content"].([]any); len(single) != 1 {
		t.Fatalf("v2 single document: %v, want a one-document list", v2["catalog/single.yml"]["content"])
	}
	v1 := files(mapping.OceanV1)
	if c, ok := v1["catalog/single.yml"]["content"].(map[string]any); !ok || c["name"] != "solo" {
		t.Fatalf("v1 single document: %v, want the document", v1["catalog/single.yml"]["content"])
	}
	if c, _ := v1["catalog/multi.yml"]["content"].([]any); len(c) != 2 {
		t.Fatalf("v1 multi-document: %v", v1["catalog/multi.yml"]["content"])
	}
}

// TestIncludedFilesOnFilesAndFolders: includedFiles on the file and folder
// kinds add __includedFiles (from the repository root, default branch) to
// each object, as Ocean v2 does.
func TestIncludedFilesOnFilesAndFolders(t *testing.T) {
	e := newEnv(t, allOf)
	p := e.service(t)
	e.sim.SetFile(p.ID, "apps/api/config.yml", "name: api\n")
	repo := "[" + p.PathWithNamespace + "]"
	for _, tc := range []struct{ kind, sel string }{
		{"file", "      files: {path: 'apps/*/config.yml', repos: " + repo + ", searchStrategy: repositoryTree}\n      includedFiles: [README.md, /missing.txt]\n"},
		{"folder", "      folders: [{path: apps, repos: [{name: " + p.PathWithNamespace + "}]}]\n      includedFiles: [README.md, /missing.txt]\n"},
	} {
		st := freshStore(t)
		e.mustResync(t, oceanMapping(t, mapping.OceanV2, tc.kind, tc.sel,
			"          identifier: .repo.path_with_namespace + (.file.path // .folder.path)\n          blueprint: '\"x\"'\n          properties:\n            readme: .__includedFiles[\"README.md\"]\n            missing: .__includedFiles[\"/missing.txt\"]\n            has: .__includedFiles | has(\"/missing.txt\")\n"), st)
		ents := entitiesOf(t, st, "x")
		if len(ents) != 1 {
			t.Fatalf("%s: %d entities", tc.kind, len(ents))
		}
		x := ents[0]
		if r, _ := x.Properties["readme"].(string); !strings.HasPrefix(r, "# ") || x.Properties["missing"] != nil || x.Properties["has"] != true {
			t.Fatalf("%s: %v", tc.kind, x.Properties)
		}
	}
}

// TestSkillsAndPlugins: the v2 skill and plugin kinds find SKILL.md files
// and plugin manifests on the default branch and shape them as Ocean's
// skill_plugin.py does.
func TestSkillsAndPlugins(t *testing.T) {
	e := newEnv(t, allOf)
	p := e.service(t)
	e.sim.SetFile(p.ID, "skills/hello/SKILL.md", "---\nname: hello-skill\ndescription: Says hello.\nversion: 2\n---\n\n# Hello\n\nGreet.\n")
	e.sim.SetFile(p.ID, ".claude/skills/review/SKILL.md", "Review code.\n")
	e.sim.SetFile(p.ID, "skills/notes.md", "not a skill")
	e.sim.SetFile(p.ID, "docs/SKILL.md", "outside the globs")
	e.sim.SetFile(p.ID, ".claude-plugin/plugin.json", `{"name":"sp","description":"d1","version":"1.0.0","author":{"name":"x"}}`)
	e.sim.SetFile(p.ID, ".claude-plugin/marketplace.json", `{"name":"mkt","plugins":[{"name":"sp","source":"./"},{"name":"other"}]}`)
	e.sim.SetFile(p.ID, ".opencode/plugins/x.js", "export default {}")
	raw := "          identifier: .repo.path_with_namespace + \":\" + (.skill.skillMdPath // \"plugin\")\n          blueprint: '\"x\"'\n          properties:\n            raw: del(.repo)\n"

	st := freshStore(t)
	e.mustResync(t, oceanMapping(t, mapping.OceanV2, "skill", "", raw), st)
	skills := map[string]map[string]any{}
	for _, x := range entitiesOf(t, st, "x") {
		skills[x.Identifier] = x.Properties["raw"].(map[string]any)
	}
	if len(skills) != 2 {
		t.Fatalf("skills %v, want the two SKILL.md files the default globs select", keys(skills))
	}
	hello := skills[p.PathWithNamespace+":skills/hello/SKILL.md"]
	want := map[string]any{"name": "hello-skill", "description": "Says hello.", "instructions": "# Hello\n\nGreet.\n",
		"frontmatter": map[string]any{"name": "hello-skill", "description": "Says hello.", "version": 2.0},
		"path":        "skills/hello", "skillMdPath": "skills/hello/SKILL.md", "root": "skills"}
	if got, _ := json.Marshal(hello["skill"]); string(got) != mustJSON(want) || hello["__branch"] != p.DefaultBranch {
		t.Fatalf("skill object %s, want %s (branch %v)", got, mustJSON(want), hello["__branch"])
	}
	review := skills[p.PathWithNamespace+":.claude/skills/review/SKILL.md"]["skill"].(map[string]any)
	if review["name"] != "review" || review["description"] != "" || review["instructions"] != "Review code.\n" || review["root"] != ".claude/skills" {
		t.Fatalf("skill without frontmatter: %v", review)
	}

	st = freshStore(t)
	e.mustResync(t, oceanMapping(t, mapping.OceanV2, "plugin", "", raw), st)
	plugins := entitiesOf(t, st, "x")
	if len(plugins) != 1 {
		t.Fatalf("%d plugins, want one (the only project with manifests)", len(plugins))
	}
	plugin := plugins[0].Properties["raw"].(map[string]any)["plugin"].(map[string]any)
	wantPlugin := `{"agents":{},"antigravity":{},"claude":{"author":{"name":"x"},"description":"d1","marketplaceName":"mkt","name":"sp","version":"1.0.0"},` +
		`"codex":{},"cursor":{},"description":"d1","displayName":"sp","kimi":{},"name":"sp","opencode":{"detected":true},"pi":{},` +
		`"supports":{"agents":false,"antigravity":false,"claude":true,"codex":false,"cursor":false,"kimi":false,"opencode":true,"pi":false},"version":"1.0.0"}`
	if got, _ := json.Marshal(plugin); string(got) != wantPlugin {
		t.Fatalf("plugin %s\nwant   %s", got, wantPlugin)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestListingDefaults: which projects each generation lists. v2 keeps the
// projects where the token is at least Developer (visibility); v1 the
// projects the token owns (filterOwnedProjects). A Maintainer token is on
// both sides of the boundary: every project under v2, none under v1; an
// Owner token sees them under both; a Reporter token under neither.
func TestListingDefaults(t *testing.T) {
	e := newEnv(t, allOf)
	root := e.org.Roots[0]
	count := func(token string, gen mapping.Generation) int {
		t.Helper()
		e.cfg.TokenMapping = tokenmap.Mapping{{Token: token, Patterns: []string{"**"}}}
		st := freshStore(t)
		e.mustResync(t, oceanMapping(t, gen, "project", "", "          identifier: .path_with_namespace\n          blueprint: '\"x\"'\n"), st)
		return len(idsOf(t, st, "x"))
	}
	for _, tc := range []struct {
		level  int
		v1, v2 bool
	}{{40, false, true}, {50, true, true}, {20, false, false}} {
		tok := e.sim.AddToken(gitlabtest.Token{Value: fmt.Sprintf("glpat-role%02d-aaaaaaaaaaaa", tc.level), Kind: gitlabtest.GroupAccessToken, GroupID: root.ID, AccessLevel: tc.level})
		v1, v2 := count(tok.Value, mapping.OceanV1), count(tok.Value, mapping.OceanV2)
		if (v1 > 0) != tc.v1 || (v2 > 0) != tc.v2 {
			t.Errorf("role %d: v1 lists %d projects (want some: %v), v2 %d (want some: %v)", tc.level, v1, tc.v1, v2, tc.v2)
		}
	}
}
