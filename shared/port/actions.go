package port

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Action runs: the calls Ocean's actions processor makes
// (port_ocean/clients/port/mixins/actions.py). Each is sent once, never
// retried: a retried ack whose first answer was lost would come back 409
// and the run would be skipped by everyone, and a retried claim or patch
// is not what Ocean does either.

// Run statuses Port reports (Ocean's RunStatus).
const (
	RunInProgress = "IN_PROGRESS"
	RunSuccess    = "SUCCESS"
	RunFailure    = "FAILURE"
)

// ErrRunAcknowledged is Port's 409 to an ack: another worker (of this or
// another replica) has the run, so this one must not execute it.
var ErrRunAcknowledged = errors.New("port: the action run is already acknowledged")

// ActionRun is a run as the processor needs it. Properties are decoded
// with json.Number so a value passed on to GitLab keeps the literal Port
// sent.
type ActionRun struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Action struct {
		Identifier string `json:"identifier"`
	} `json:"action"`
	Payload struct {
		Type                                 string         `json:"type"`
		InstallationID                       string         `json:"installationId"`
		IntegrationActionType                string         `json:"integrationActionType"`
		IntegrationActionExecutionProperties map[string]any `json:"integrationActionExecutionProperties"`
	} `json:"payload"`
	ExternalRunID string `json:"externalRunId,omitempty"`
}

// Type is the executor the run asks for (payload.integrationActionType).
func (r *ActionRun) Type() string { return r.Payload.IntegrationActionType }

// Properties are the executor's inputs.
func (r *ActionRun) Properties() map[string]any {
	return r.Payload.IntegrationActionExecutionProperties
}

// check refuses what Ocean's ActionRun model refuses: a status outside
// its three values, or a payload that is not an integration action.
func (r *ActionRun) check() error {
	switch {
	case r.ID == "":
		return errors.New("a run has no id")
	case r.Status != RunInProgress && r.Status != RunSuccess && r.Status != RunFailure:
		return fmt.Errorf("run %s: status %q is not IN_PROGRESS, SUCCESS or FAILURE", r.ID, r.Status)
	case r.Payload.Type != "INTEGRATION_ACTION":
		return fmt.Errorf("run %s: payload.type %q is not INTEGRATION_ACTION", r.ID, r.Payload.Type)
	}
	return nil
}

// ClaimRequest is the body of POST /v1/actions/runs/claim-pending.
type ClaimRequest struct {
	Limit               int
	VisibilityTimeoutMs int
	// Exclude are action identifiers not to claim (saturated locally).
	Exclude []string
}

// RunPatch is PATCH /v1/actions/runs/{id}'s body; empty fields are left
// out.
type RunPatch struct {
	Status        string `json:"status,omitempty"`
	Link          string `json:"link,omitempty"`
	ExternalRunID string `json:"externalRunId,omitempty"`
}

type ctxKey int

const (
	onceKey ctxKey = iota
	headersKey
)

// reserved is the header Ocean adds to claim and ack only
// (INTERNAL_ACTIONS_CLIENT_HEADER).
var reserved = map[string]string{"x-port-reserved-usage": "true"}

func sendOnce(ctx context.Context) bool { v, _ := ctx.Value(onceKey).(bool); return v }

func extraHeaders(ctx context.Context) map[string]string {
	h, _ := ctx.Value(headersKey).(map[string]string)
	return h
}

func once(ctx context.Context) context.Context { return context.WithValue(ctx, onceKey, true) }

// ClaimPendingRuns leases up to Limit pending runs of this installation
// for VisibilityTimeoutMs. A run in the answer that Ocean's model would
// refuse fails the whole claim, as it does in Ocean: the runs come back
// once their lease ends.
func (c *Client) ClaimPendingRuns(ctx context.Context, r ClaimRequest) ([]ActionRun, error) {
	body := map[string]any{"installationId": c.opts.Integration, "limit": r.Limit, "visibilityTimeoutMs": r.VisibilityTimeoutMs}
	if len(r.Exclude) > 0 {
		body["exclude"] = r.Exclude
	}
	var raw json.RawMessage
	ctx = context.WithValue(once(ctx), headersKey, reserved)
	if _, err := c.do(ctx, http.MethodPost, "POST /v1/actions/runs/claim-pending", "/v1/actions/runs/claim-pending", nil, body, &raw); err != nil {
		return nil, err
	}
	var out struct {
		Runs []ActionRun `json:"runs"`
	}
	if err := decodeNumbers(raw, &out); err != nil {
		return nil, fmt.Errorf("port: claim-pending: decoding the runs: %w", err)
	}
	for i := range out.Runs {
		if err := out.Runs[i].check(); err != nil {
			return nil, fmt.Errorf("port: claim-pending: %w", err)
		}
	}
	return out.Runs, nil
}

// AckRun acknowledges a claimed run: from then on it is this worker's.
// ErrRunAcknowledged means someone acked it first.
func (c *Client) AckRun(ctx context.Context, runID string) error {
	ctx = context.WithValue(once(ctx), headersKey, reserved)
	status, err := c.do(ctx, http.MethodPatch, "PATCH /v1/actions/runs/ack", "/v1/actions/runs/ack", nil, map[string]string{"runId": runID}, nil)
	if status == http.StatusConflict {
		return ErrRunAcknowledged
	}
	return err
}

// PatchRun updates a run: its link and externalRunId, or its final
// status.
func (c *Client) PatchRun(ctx context.Context, runID string, p RunPatch) error {
	_, err := c.do(once(ctx), http.MethodPatch, "PATCH /v1/actions/runs/:id", "/v1/actions/runs/"+url.PathEscape(runID), nil, p, nil)
	return err
}

// PostRunLog adds a line to the run's log in Port.
func (c *Client) PostRunLog(ctx context.Context, runID, message string) error {
	_, err := c.do(once(ctx), http.MethodPost, "POST /v1/actions/runs/:id/logs", "/v1/actions/runs/"+url.PathEscape(runID)+"/logs", nil,
		map[string]string{"message": message}, nil)
	return err
}

// RunByExternalID finds the run whose externalRunId is id (nil when
// none), as Ocean's pipeline webhook does. Unlike the other calls it is
// retried on 429 and 5xx, as Ocean retries its GETs.
func (c *Client) RunByExternalID(ctx context.Context, id string) (*ActionRun, error) {
	q := url.Values{}
	q.Set("version", "v2")
	q.Set("external_run_id", id)
	var raw json.RawMessage
	if _, err := c.do(ctx, http.MethodGet, "GET /v1/actions/runs", "/v1/actions/runs", q, nil, &raw); err != nil {
		return nil, err
	}
	var out struct {
		Runs []ActionRun `json:"runs"`
	}
	if err := decodeNumbers(raw, &out); err != nil {
		return nil, fmt.Errorf("port: GET /v1/actions/runs: decoding the runs: %w", err)
	}
	if len(out.Runs) == 0 {
		return nil, nil
	}
	return &out.Runs[0], nil
}

func decodeNumbers(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return d.Decode(v)
}
