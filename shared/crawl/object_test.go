package crawl

import (
	"reflect"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// An event names its object by ids and names: the path is built from
// integers, never from a JSON number's float (a project id of 50123456
// printed as a float is 5.0123456e+07, which GitLab answers 404).
func TestObjectRefAPIPath(t *testing.T) {
	const pid = 50123456
	for _, c := range []struct {
		ref  ObjectRef
		want string
	}{
		{ObjectRef{Kind: selector.KindProject, Project: pid}, "projects/50123456"},
		{ObjectRef{Kind: selector.KindProject, ProjectPath: "team/api"}, "projects/team%2Fapi"},
		{ObjectRef{Kind: selector.KindGroup, Group: 7}, "groups/7"},
		{ObjectRef{Kind: selector.KindIssue, Project: pid, ID: 3}, "projects/50123456/issues/3"},
		{ObjectRef{Kind: selector.KindMergeRequest, Project: pid, ID: 4}, "projects/50123456/merge_requests/4"},
		{ObjectRef{Kind: selector.KindPipeline, Project: pid, ID: 5}, "projects/50123456/pipelines/5"},
		{ObjectRef{Kind: selector.KindJob, Project: pid, ID: 6}, "projects/50123456/jobs/6"},
		{ObjectRef{Kind: selector.KindDeployment, Project: pid, ID: 8}, "projects/50123456/deployments/8"},
		{ObjectRef{Kind: selector.KindRelease, Project: pid, Name: "v1.0/rc"}, "projects/50123456/releases/v1.0%2Frc"},
		{ObjectRef{Kind: selector.KindBranch, Project: pid, Name: "feat/x"}, "projects/50123456/repository/branches/feat%2Fx"},
		{ObjectRef{Kind: selector.KindTag, Project: pid, Name: "v2"}, "projects/50123456/repository/tags/v2"},
	} {
		got, err := c.ref.APIPath()
		if err != nil || got != c.want {
			t.Errorf("%+v: got %q, %v; want %q", c.ref, got, err, c.want)
		}
	}
	if _, err := (ObjectRef{Kind: selector.KindFile}).APIPath(); err == nil {
		t.Error("a kind read only by listing has no single-object path")
	}
}

// A single object carries the __project its kind's listing gives it.
func TestChildProjectAsTheListingGivesIt(t *testing.T) {
	pr := map[string]any{"id": float64(1), "name": "api", "path": "api", "path_with_namespace": "team/api", "web_url": "https://x/team/api",
		"default_branch": "main", "empty_repo": false, "archived": false, "last_activity_at": "2026-01-01T00:00:00Z", "star_count": float64(3)}
	for _, k := range []string{selector.KindIssue, selector.KindMergeRequest, selector.KindProject, selector.KindGroup} {
		if p := childProject(k, pr); p != nil {
			t.Errorf("%s: got __project %v, want none", k, p)
		}
	}
	if got := childProject(selector.KindDeployment, pr); !reflect.DeepEqual(got, ProjectRef(pr)) {
		t.Errorf("deployment: got %v", got)
	}
	for _, k := range []string{selector.KindPipeline, selector.KindJob, selector.KindRelease, selector.KindBranch, selector.KindTag} {
		if got := childProject(k, pr); !reflect.DeepEqual(got, ProjectInfo(pr)) {
			t.Errorf("%s: got %v", k, got)
		}
	}
}
