// Entities: upserts one by one or in bulk, deletes, and the listing of the
// entities an integration owns.

package port

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Entity is an entity as Port's API takes it.
type Entity struct {
	Identifier string         `json:"identifier"`
	Title      string         `json:"title,omitempty"`
	Icon       string         `json:"icon,omitempty"`
	Team       any            `json:"team,omitempty"`
	Properties map[string]any `json:"properties"`
	Relations  map[string]any `json:"relations"`
	Blueprint  string         `json:"blueprint,omitempty"`
}

// UpsertOptions are the query options of entity writes.
type UpsertOptions struct {
	CreateMissingRelatedEntities bool
	// Replace writes the entity whole instead of merging it into the one
	// in Port (the mapping's enableMergeEntity: false).
	Replace bool
}

func (o UpsertOptions) query() url.Values {
	q := url.Values{}
	q.Set("upsert", "true")
	q.Set("merge", fmt.Sprint(!o.Replace))
	q.Set("create_missing_related_entities", fmt.Sprint(o.CreateMissingRelatedEntities))
	return q
}

// Upsert writes one entity.
func (c *Client) Upsert(ctx context.Context, blueprint string, e Entity, o UpsertOptions) error {
	_, err := c.do(ctx, http.MethodPost, "POST /v1/blueprints/:b/entities", "/v1/blueprints/"+url.PathEscape(blueprint)+"/entities", o.query(), e, nil)
	return err
}

// UpsertSearch writes one entity whose identifier is a search query
// (Port's "map by property"): Port runs the query on blueprint, updates
// the one entity it finds and answers with it; it creates nothing and
// refuses the write when the query finds none or several. It returns the
// identifier of the entity Port updated.
func (c *Client) UpsertSearch(ctx context.Context, blueprint string, e Entity, query map[string]any, o UpsertOptions) (string, error) {
	body := map[string]any{"identifier": query, "properties": e.Properties, "relations": e.Relations}
	if e.Title != "" {
		body["title"] = e.Title
	}
	if e.Icon != "" {
		body["icon"] = e.Icon
	}
	if e.Team != nil {
		body["team"] = e.Team
	}
	var out struct {
		Entity struct {
			Identifier string `json:"identifier"`
		} `json:"entity"`
	}
	if _, err := c.do(ctx, http.MethodPost, "POST /v1/blueprints/:b/entities", "/v1/blueprints/"+url.PathEscape(blueprint)+"/entities", o.query(), body, &out); err != nil {
		return "", err
	}
	return out.Entity.Identifier, nil
}

// EntityError is one entity a bulk write refused.
type EntityError struct {
	Identifier string
	Status     int
	Message    string
}

func (e EntityError) Error() string {
	return fmt.Sprintf("entity %s: %d %s", e.Identifier, e.Status, e.Message)
}

// BulkUpsert writes entities of one blueprint in as few requests as Port
// allows (20 entities, 1 MiB each), up to Concurrency requests at a time.
// Entities Port refuses (the 207's per-entity errors) are returned, not
// failed: the rest is written.
func (c *Client) BulkUpsert(ctx context.Context, blueprint string, ents []Entity, o UpsertOptions) ([]EntityError, error) {
	var batches [][]Entity
	for len(ents) > 0 {
		n, size := 0, 20
		for n < len(ents) && n < MaxBulkEntities {
			b, _ := json.Marshal(ents[n])
			if size+len(b)+1 > MaxBulkBytes && n > 0 {
				break
			}
			size += len(b) + 1
			n++
		}
		batches = append(batches, ents[:n])
		ents = ents[n:]
	}
	var mu sync.Mutex
	var refused []EntityError
	var errs []error
	sem := make(chan struct{}, c.opts.Concurrency)
	var wg sync.WaitGroup
	for _, batch := range batches {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var out struct {
				Errors []struct {
					Identifier string `json:"identifier"`
					StatusCode int    `json:"statusCode"`
					Message    string `json:"message"`
				} `json:"errors"`
			}
			_, err := c.do(ctx, http.MethodPost, "POST /v1/blueprints/:b/entities/bulk", "/v1/blueprints/"+url.PathEscape(blueprint)+"/entities/bulk",
				o.query(), map[string]any{"entities": batch}, &out)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			for _, e := range out.Errors {
				refused = append(refused, EntityError{Identifier: e.Identifier, Status: e.StatusCode, Message: e.Message})
			}
		}()
	}
	wg.Wait()
	return refused, errors.Join(errs...)
}

// Delete removes one entity; one already gone is not an error.
func (c *Client) Delete(ctx context.Context, blueprint, identifier string, deleteDependents bool) error {
	q := url.Values{}
	q.Set("delete_dependents", fmt.Sprint(deleteDependents))
	status, err := c.do(ctx, http.MethodDelete, "DELETE /v1/blueprints/:b/entities/:id",
		"/v1/blueprints/"+url.PathEscape(blueprint)+"/entities/"+url.PathEscape(identifier), q, nil, nil)
	if status == http.StatusNotFound {
		return nil
	}
	return err
}

// BulkDeleteMax is the most identifiers one bulk delete takes (Ocean's
// ENTITIES_BULK_DELETE_MAX_BATCH_SIZE).
const BulkDeleteMax = 100

// BulkDelete deletes entities of one blueprint as Ocean does since 0.45
// (port_ocean/clients/port/mixins/entities.py, bulk_delete_entities):
// POST /v1/blueprints/:b/bulk/entities/delete, BulkDeleteMax identifiers
// a request. It returns the identifiers Port reports deleted; one already
// gone is not reported and not an error.
func (c *Client) BulkDelete(ctx context.Context, blueprint string, ids []string, deleteDependents bool) ([]string, error) {
	q := url.Values{}
	q.Set("delete_dependents", fmt.Sprint(deleteDependents))
	var deleted []string
	for start := 0; start < len(ids); start += BulkDeleteMax {
		batch := ids[start:min(start+BulkDeleteMax, len(ids))]
		var out struct {
			Deleted []string `json:"deletedEntities"`
		}
		if _, err := c.do(ctx, http.MethodPost, "POST /v1/blueprints/:b/bulk/entities/delete",
			"/v1/blueprints/"+url.PathEscape(blueprint)+"/bulk/entities/delete", q, map[string]any{"entities": batch}, &out); err != nil {
			return deleted, err
		}
		deleted = append(deleted, out.Deleted...)
	}
	return deleted, nil
}

// OceanTypes are the integration types Ocean's GitLab integrations
// write under: v1's and v2's. Entities either wrote for this integration
// identifier count as this integration's.
var OceanTypes = []string{"gitlab", "gitlab-v2"}

// Owned returns the blueprint and identifier of every entity this
// integration identifier owns (see EachOwned), all at once: for an
// organisation of any size, use EachOwned.
func (c *Client) Owned(ctx context.Context, before time.Time) ([]Entity, error) {
	seen := map[string]bool{}
	var all []Entity
	err := c.EachOwned(ctx, before, func(page []Entity) error {
		for _, e := range page {
			if k := e.Blueprint + "\x00" + e.Identifier; !seen[k] {
				seen[k] = true
				all = append(all, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// EachOwned calls fn with each page (up to 5,000) of the entities this
// integration identifier owns, whichever Ocean GitLab integration (any
// version) or glsync wrote them, last written before "before" (zero: any
// time); only their blueprint and identifier are set. As Ocean does
// (port_ocean/clients/port/mixins/entities.py, search_entities), it lists
// POST /v1/blueprints/entities/datasource-entities by $datasource prefix
// "port-ocean/<type>/" and suffix "/<identifier>/exporter", which span
// versions. One page is held at a time, so reconciling 100,000 entities
// takes no more memory than 5,000. It stops at fn's first error.
func (c *Client) EachOwned(ctx context.Context, before time.Time, fn func(page []Entity) error) error {
	types := append([]string(nil), OceanTypes...)
	if !slices.Contains(types, c.opts.Type) {
		types = append(types, c.opts.Type)
	}
	for _, typ := range types {
		var from any
		for {
			body := map[string]any{"datasource_prefix": "port-ocean/" + typ + "/", "datasource_suffix": "/" + c.opts.Integration + "/exporter", "limit": 5000}
			if !before.IsZero() {
				body["before"] = before.UTC().Format(time.RFC3339Nano)
			}
			if from != nil {
				body["from"] = from
			}
			var out struct {
				Entities []Entity `json:"entities"`
				Next     any      `json:"next"`
			}
			if _, err := c.do(ctx, http.MethodPost, "POST /v1/blueprints/entities/datasource-entities", "/v1/blueprints/entities/datasource-entities", nil, body, &out); err != nil {
				return err
			}
			if len(out.Entities) > 0 {
				if err := fn(out.Entities); err != nil {
					return err
				}
			}
			if out.Next == nil || out.Next == "" || len(out.Entities) == 0 {
				break
			}
			from = out.Next
		}
	}
	return nil
}
