package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	gogitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/glsync/terraform-provider-glsync/daemon/events"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/port"
)

// triggerPipelineType is gitlab-v2's executor name (ACTION_NAME).
const triggerPipelineType = "trigger_pipeline"

// ExternalRunID is the id a run is linked to its pipeline by, Ocean's
// build_external_id: the Pipeline Hook finds the run with it.
func ExternalRunID(projectID, pipelineID int64) string {
	return fmt.Sprintf("gl_%d_%d", projectID, pipelineID)
}

// incompleteAnswer is Ocean's failure for a 2xx without id, project_id
// or web_url.
const incompleteAnswer = "Failed to trigger pipeline: GitLab returned an empty or incomplete response"

// pipeline is the part of GitLab's answer the executor needs.
type pipeline struct {
	ID        *int64  `json:"id"`
	ProjectID *int64  `json:"project_id"`
	WebURL    *string `json:"web_url"`
	Status    string  `json:"status"`
}

// triggerPipeline is gitlab-v2's TriggerPipelineExecutor.execute: check
// the inputs, create the pipeline with the token that owns the project,
// and link the run to it. The run stays IN_PROGRESS: the pipeline's end
// finishes it.
func (p *Processor) triggerPipeline(ctx context.Context, run *port.ActionRun) error {
	props := run.Properties()
	project, ref := props["project"], props["ref"]
	if !pyTruthy(project) {
		return errors.New("project is required")
	}
	if !pyTruthy(ref) {
		return errors.New("ref is required")
	}
	raw := props["pipelineVariables"]
	if !pyTruthy(raw) {
		raw = map[string]any{}
	}
	vars, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("pipelineVariables must be a key-value object, got %s", pyTypeName(raw))
	}
	proj, refS := pyStr(project), pyStr(ref)
	p.logRun(ctx, run.ID, fmt.Sprintf("Triggering GitLab pipeline for %s on ref %s", proj, refS))

	body := map[string]any{"ref": refS}
	if len(vars) > 0 {
		keys := make([]string, 0, len(vars))
		for k := range vars {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		list := make([]map[string]string, 0, len(keys))
		for _, k := range keys {
			v, isStr := vars[k].(string)
			if !isStr {
				v = pyJSON(vars[k])
			}
			list = append(list, map[string]string{"key": k, "value": v})
		}
		body["variables"] = list
	}
	couldNot := fmt.Sprintf("Could not trigger pipeline for project '%s' on ref '%s'", proj, refS)
	owned, err := p.projects.ProjectOwner(ctx, proj)
	switch {
	case errors.Is(err, events.ErrNotSelected):
		return fmt.Errorf("%s: no token mapping selects project %s: add it to a token's globs in tokenMapping", couldNot, owned.Path)
	case errors.Is(err, events.ErrProjectNotFound):
		return fmt.Errorf("%s: 404 Project Not Found (no token in tokenMapping can read it)", couldNot)
	case err != nil:
		return fmt.Errorf("%s: %s", couldNot, gitlabDetail(err))
	}
	var pl pipeline
	// Sent at most once: a 5xx or a dropped connection may come after
	// GitLab created the pipeline, and a second one must not run.
	if _, err := owned.Owner.Client.Do(gitlab.AtMostOnce(ctx), http.MethodPost, "projects/"+strconv.FormatInt(owned.ID, 10)+"/pipeline", body, &pl); err != nil {
		return fmt.Errorf("%s: %s", couldNot, gitlabDetail(err))
	}
	if pl.ID == nil || pl.ProjectID == nil || pl.WebURL == nil {
		return fmt.Errorf("%s", incompleteAnswer)
	}
	ext := ExternalRunID(*pl.ProjectID, *pl.ID)
	if err := p.port.PatchRun(ctx, run.ID, port.RunPatch{Link: *pl.WebURL, ExternalRunID: ext}); err != nil {
		return err
	}
	p.logRun(ctx, run.ID, "Pipeline triggered: "+*pl.WebURL)
	if p.Follow {
		p.follow(owned, *pl.ID, ext)
	}
	return nil
}

// gitlabDetail is GitLabTriggerPipelineError.from_response's detail: the
// first of the answer's error_description, message and error (JSON-encoded
// when not a string), else its text, else "HTTP <code>". Errors without
// an answer say what happened, without the token.
func gitlabDetail(err error) string {
	var er *gogitlab.ErrorResponse
	var api *gitlab.APIError
	if errors.As(err, &er) && len(er.Body) > 0 {
		var m map[string]any
		if json.Unmarshal(er.Body, &m) == nil {
			for _, k := range []string{"error_description", "message", "error"} {
				if v, ok := m[k]; ok && v != nil {
					if s, ok := v.(string); ok {
						return s
					}
					return pyJSON(v)
				}
			}
		}
		if t := strings.TrimSpace(string(er.Body)); t != "" {
			return t
		}
	}
	if errors.As(err, &api) && api.Status != 0 {
		return "HTTP " + strconv.Itoa(api.Status)
	}
	if api != nil {
		return api.Error()
	}
	return err.Error()
}
