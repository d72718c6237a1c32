package events

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
)

// payload holds the routing fields of GitLab's payloads.
type payload struct {
	// RetryParts is not GitLab's: when glsync reschedules the parts of an
	// event that failed, it adds the names of those parts (see parts.go)
	// to the body it keeps, and only they are applied again.
	RetryParts []string `json:"glsync_retry_parts"`
	ObjectKind string   `json:"object_kind"`
	EventName  string   `json:"event_name"`
	ProjectID  int64    `json:"project_id"`
	Project    struct {
		ID                int64  `json:"id"`
		PathWithNamespace string `json:"path_with_namespace"`
		WebURL            string `json:"web_url"`
		Name              string `json:"name"`
	} `json:"project"`
	ObjectAttributes struct {
		ID              int64 `json:"id"`
		IID             int64 `json:"iid"`
		ProjectID       int64 `json:"project_id"`
		TargetProjectID int64 `json:"target_project_id"`
	} `json:"object_attributes"`
	BuildID int64  `json:"build_id"`
	Ref     string `json:"ref"`
	// Before and After are the ref's commits before and after a push (all
	// zeros for a ref created or deleted); Commits holds at most 20 of
	// TotalCommitsCount.
	Before            string `json:"before"`
	After             string `json:"after"`
	TotalCommitsCount int    `json:"total_commits_count"`
	Commits           []struct {
		Added    []string `json:"added"`
		Modified []string `json:"modified"`
		Removed  []string `json:"removed"`
	} `json:"commits"`
	Repository struct {
		Homepage string `json:"homepage"`
	} `json:"repository"`
	// Tag is the release's tag name; job payloads use the same key for a
	// boolean, so it is read loosely.
	Tag                  any    `json:"tag"`
	Action               string `json:"action"`
	GroupPath            string `json:"group_path"`
	UserID               int64  `json:"user_id"`
	UserUsername         string `json:"user_username"`
	UserName             string `json:"user_name"`
	PathWithNamespace    string `json:"path_with_namespace"`
	OldPathWithNamespace string `json:"old_path_with_namespace"`
	Name                 string `json:"name"`
	Path                 string `json:"path"`
	FullPath             string `json:"full_path"`
	GroupID              int64  `json:"group_id"`
	ParentGroupID        int64  `json:"parent_group_id"`
	OldFullPath          string `json:"old_full_path"`
	// DeploymentID names the deployment of a Deployment Hook.
	DeploymentID int64 `json:"deployment_id"`
}

func projectID(pl payload) int64 {
	if pl.ProjectID != 0 {
		return pl.ProjectID
	}
	return pl.Project.ID
}

func projectPath(pl payload) string {
	if pl.Project.PathWithNamespace != "" {
		return pl.Project.PathWithNamespace
	}
	if pl.PathWithNamespace != "" {
		return pl.PathWithNamespace
	}
	// Job payloads name the project only by its repository's home page.
	if u, err := url.Parse(pl.Repository.Homepage); err == nil && u.Path != "" {
		return strings.Trim(u.Path, "/")
	}
	return ""
}

// projectInfo is the "__project" the crawler adds to project children.
func projectInfo(pl payload, id int64, path string) map[string]any {
	web := pl.Project.WebURL
	if web == "" {
		web = pl.Repository.Homepage
	}
	return map[string]any{"id": float64(id), "path_with_namespace": path, "web_url": web, "name": pl.Project.Name}
}

// ObjectKey names the GitLab object a delivery is about, for the queue's
// per-object order: its project ("project:42") for project events and
// system hook project events, its group ("group:7") for group events,
// "" when the payload names neither (such events are not ordered).
func ObjectKey(eventType string, body []byte) string {
	var pl payload
	if err := json.Unmarshal(body, &pl); err != nil {
		return ""
	}
	if id := projectID(pl); id != 0 {
		return "project:" + strconv.FormatInt(id, 10)
	}
	if pl.ObjectAttributes.ProjectID != 0 {
		return "project:" + strconv.FormatInt(pl.ObjectAttributes.ProjectID, 10)
	}
	if pl.GroupID != 0 {
		return "group:" + strconv.FormatInt(pl.GroupID, 10)
	}
	return ""
}
