// Blueprints and the integration record: what Port must hold before entities
// are written, and the raw data examples shown in its UI.

package port

import (
	"context"
	"net/http"
	"net/url"
)

// EnsureBlueprint creates a blueprint unless it exists; an existing one is
// never overwritten. created reports whether it was made.
func (c *Client) EnsureBlueprint(ctx context.Context, bp map[string]any) (created bool, err error) {
	id, _ := bp["identifier"].(string)
	status, err := c.do(ctx, http.MethodGet, "GET /v1/blueprints/:b", "/v1/blueprints/"+url.PathEscape(id), nil, nil, nil)
	if err == nil {
		return false, nil
	}
	if status != http.StatusNotFound {
		return false, err
	}
	if _, err := c.do(ctx, http.MethodPost, "POST /v1/blueprints", "/v1/blueprints", nil, bp, nil); err != nil {
		return false, err
	}
	return true, nil
}

// Integration is the integration record in Port.
type Integration struct {
	Identifier string         `json:"identifier"`
	Config     map[string]any `json:"config"`
}

// GetIntegration reads the integration record; found is false on 404.
func (c *Client) GetIntegration(ctx context.Context) (Integration, bool, error) {
	var out struct {
		Integration Integration `json:"integration"`
	}
	status, err := c.do(ctx, http.MethodGet, "GET /v1/integration/:id", "/v1/integration/"+url.PathEscape(c.opts.Integration), nil, nil, &out)
	if status == http.StatusNotFound {
		return Integration{}, false, nil
	}
	return out.Integration, err == nil, err
}

// RegisterIntegration creates the integration record, or updates its
// version, mapping (config) and actionsProcessingEnabled when it exists.
func (c *Client) RegisterIntegration(ctx context.Context, appConfig map[string]any) error {
	_, found, err := c.GetIntegration(ctx)
	if err != nil {
		return err
	}
	if !found {
		body := map[string]any{"installationId": c.opts.Integration, "installationAppType": c.opts.Type,
			"version": c.opts.Version, "config": appConfig, "changelogDestination": map[string]any{}, "actionsProcessingEnabled": c.opts.ActionsProcessing}
		_, err := c.do(ctx, http.MethodPost, "POST /v1/integration", "/v1/integration", nil, body, nil)
		return err
	}
	body := map[string]any{"installationAppType": c.opts.Type, "version": c.opts.Version, "actionsProcessingEnabled": c.opts.ActionsProcessing}
	if appConfig != nil {
		body["config"] = appConfig
	}
	_, err = c.do(ctx, http.MethodPatch, "PATCH /v1/integration/:id", "/v1/integration/"+url.PathEscape(c.opts.Integration), nil, body, nil)
	return err
}

// SendExamples sends raw objects of a kind for Port's mapping test UI.
func (c *Client) SendExamples(ctx context.Context, kind string, examples []map[string]any) error {
	_, err := c.do(ctx, http.MethodPost, "POST /v1/integration/:id/kinds/:kind/examples",
		"/v1/integration/"+url.PathEscape(c.opts.Integration)+"/kinds/"+url.PathEscape(kind)+"/examples", nil,
		map[string]any{"examples": examples}, nil)
	return err
}
