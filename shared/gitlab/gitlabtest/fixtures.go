package gitlabtest

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Fixture is one of GitLab's real payloads (payloads/SOURCES.md) with the
// X-Gitlab-Event header GitLab delivers it with: tests and fuzz targets
// start from them rather than from invented bodies.
type Fixture struct {
	Name  string // e.g. "webhooks/push.json"
	Event string // e.g. "Push Hook"
	Body  []byte
}

// fixtureEvents is the X-Gitlab-Event of each webhook fixture, as
// SOURCES.md lists it; system hook bodies all come as "System Hook".
var fixtureEvents = map[string]string{
	"webhooks/push.json":                "Push Hook",
	"webhooks/tag_push.json":            "Tag Push Hook",
	"webhooks/merge_request.json":       "Merge Request Hook",
	"webhooks/group_merge_request.json": "Merge Request Hook",
	"webhooks/issue.json":               "Issue Hook",
	"webhooks/note_merge_request.json":  "Note Hook",
	"webhooks/pipeline.json":            "Pipeline Hook",
	"webhooks/job.json":                 "Job Hook",
	"webhooks/build.json":               "Job Hook",
	"webhooks/release.json":             "Release Hook",
	"webhooks/deployment.json":          "Deployment Hook",
	"webhooks/subgroup.json":            "Subgroup Hook",
	"webhooks/member.json":              "Member Hook",
	"webhooks/project.json":             "Project Hook",
}

// kindEvents is GitLab's X-Gitlab-Event for a webhook's object_kind, for
// fixtures added after the table above.
var kindEvents = map[string]string{
	"push": "Push Hook", "tag_push": "Tag Push Hook", "merge_request": "Merge Request Hook", "issue": "Issue Hook",
	"note": "Note Hook", "pipeline": "Pipeline Hook", "build": "Job Hook", "release": "Release Hook",
	"deployment": "Deployment Hook", "wiki_page": "Wiki Page Hook", "feature_flag": "Feature Flag Hook", "emoji": "Emoji Hook",
}

// Fixtures returns every payload fixture, ordered by name.
func Fixtures() ([]Fixture, error) {
	var out []Fixture
	err := fs.WalkDir(payloads, "payloads", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".json" {
			return err
		}
		body, err := payloads.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "payloads/")
		event, ok := fixtureEvents[name]
		if !ok && strings.HasPrefix(name, "systemhooks/") {
			event, ok = "System Hook", true
		}
		if !ok {
			var pl struct {
				ObjectKind string `json:"object_kind"`
			}
			_ = json.Unmarshal(body, &pl)
			event, ok = kindEvents[pl.ObjectKind]
		}
		if !ok {
			return fmt.Errorf("%s: which X-Gitlab-Event does GitLab send with it? add it to fixtureEvents", name)
		}
		out = append(out, Fixture{Name: name, Event: event, Body: body})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}
