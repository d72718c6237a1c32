package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/glsync/terraform-provider-glsync/daemon/events"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/port"
	"github.com/glsync/terraform-provider-glsync/shared/retry"
)

// terminal are the pipeline statuses that finish a run (gitlab-v2's
// TERMINAL_PIPELINE_STATUSES): success is SUCCESS, the rest FAILURE. A
// pipeline that stops at manual never finishes its run, as in Ocean.
var terminal = map[string]bool{"success": true, "failed": true, "canceled": true, "skipped": true}

// ObserveEvent finishes the run a pipeline was triggered for when a
// Pipeline Hook reports it ended (gitlab-v2's
// TriggerPipelineWebhookProcessor). Other events are ignored. The event
// queue hands each delivery to one replica, and an error (Port not
// answering) retries the event, where Ocean would drop the completion.
func (p *Processor) ObserveEvent(ctx context.Context, ev *catalog.Event) error {
	if ev.Type != "Pipeline Hook" {
		return nil
	}
	var pl struct {
		ObjectKind       string `json:"object_kind"`
		ObjectAttributes struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		} `json:"object_attributes"`
		Project *struct {
			ID int64 `json:"id"`
		} `json:"project"`
	}
	if err := json.Unmarshal(ev.Body, &pl); err != nil || pl.ObjectKind != "pipeline" || pl.Project == nil {
		return nil // Ocean's validate_payload: object_kind and project are required
	}
	return p.Complete(ctx, pl.Project.ID, pl.ObjectAttributes.ID, pl.ObjectAttributes.Status)
}

// Complete reports a pipeline's end to the run it was triggered for:
// two log lines and SUCCESS or FAILURE. A status that is not terminal,
// a pipeline no run triggered, a run with reportPipelineStatus false or
// one already finished are left alone.
func (p *Processor) Complete(ctx context.Context, projectID, pipelineID int64, status string) error {
	if !terminal[status] {
		return nil
	}
	ext := ExternalRunID(projectID, pipelineID)
	run, err := p.port.RunByExternalID(ctx, ext)
	if err != nil {
		return p.retryable(fmt.Errorf("actions: finding the run of pipeline %s: %w", ext, err))
	}
	if run == nil {
		p.Log.Debug("actions: no run for this pipeline", "external_run_id", ext)
		return nil
	}
	if v, set := run.Properties()["reportPipelineStatus"]; set && !pyTruthy(v) {
		return nil
	}
	if run.Status != port.RunInProgress {
		p.Log.Debug("actions: run already completed; skipping duplicate report", "run", run.ID, "status", run.Status)
		return nil
	}
	p.logRun(ctx, run.ID, "Pipeline completed with status: "+status)
	p.logRun(ctx, run.ID, "Pipeline completed: "+status)
	st := port.RunFailure
	if status == "success" {
		st = port.RunSuccess
	}
	if err := p.port.PatchRun(ctx, run.ID, port.RunPatch{Status: st}); err != nil {
		return p.retryable(fmt.Errorf("actions: reporting run %s %s: %w", run.ID, st, err))
	}
	p.Log.Info("actions: run completed", "run", run.ID, "pipeline", ext, "status", st)
	return nil
}

// retryable returns err when trying again may help (no answer, 429,
// 5xx), so the event is retried; a refusal (other 4xx: the credentials
// may not read action runs) is logged and dropped, so it never holds up
// the event's catalog changes.
func (p *Processor) retryable(err error) error {
	var ae *port.APIError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusTooManyRequests {
		p.Log.Warn("actions: Port refused a pipeline's completion; not retried", "error", err)
		return nil
	}
	return err
}

// followMax bounds how long a pipeline is followed: one stopped at
// manual, or waiting for a runner that never comes, must not be read
// forever.
const followMax = 72 * time.Hour

// follow polls the pipeline with its project's owner token until it
// ends, then completes its run: without appHost no Pipeline Hook comes.
// The replica that triggered the pipeline follows it; a restart in the
// meantime leaves the run IN_PROGRESS (see README, Port actions).
func (p *Processor) follow(owned events.OwnedProject, pipelineID int64, ext string) {
	p.mu.Lock()
	ctx := p.runCtx
	p.mu.Unlock()
	if ctx == nil {
		ctx = context.Background()
	}
	p.followers.Add(1)
	go func() {
		defer p.followers.Done()
		path := "projects/" + strconv.FormatInt(owned.ID, 10) + "/pipelines/" + strconv.FormatInt(pipelineID, 10)
		for until := time.Now().Add(followMax); ; {
			if time.Now().After(until) {
				p.Log.Warn("actions: pipeline still not finished; no longer followed, its run is left IN_PROGRESS", "pipeline", ext, "after", followMax)
				return
			}
			if retry.Sleep(ctx, p.FollowInterval) != nil {
				return
			}
			var pl pipeline
			status, err := owned.Owner.Client.Do(ctx, http.MethodGet, path, nil, &pl)
			if err != nil {
				if status == http.StatusNotFound {
					p.Log.Warn("actions: the followed pipeline is gone; its run is left as it is", "pipeline", ext)
					return
				}
				p.Log.Warn("actions: reading the followed pipeline failed; trying again", "pipeline", ext, "error", err)
				continue
			}
			if !terminal[pl.Status] {
				continue
			}
			if err := p.Complete(ctx, owned.ID, pipelineID, pl.Status); err != nil {
				p.Log.Warn("actions: completing the run failed; trying again", "pipeline", ext, "error", err)
				continue
			}
			return
		}
	}()
}
