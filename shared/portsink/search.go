package portsink

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/port"
)

// ResolvesSearch tells resyncs to hand entities whose identifier is a
// search query to the sink as they are: Port resolves them on upsert, as
// for Ocean.
func (s *Sink) ResolvesSearch() bool { return true }

var _ catalog.SearchResolver = (*Sink)(nil)

// splitSearched separates the entities whose identifier is a search query.
func splitSearched(entities []*catalog.Entity) (plain, searched []*catalog.Entity) {
	for _, e := range entities {
		if e.Search != nil {
			searched = append(searched, e)
		} else {
			plain = append(plain, e)
		}
	}
	if searched == nil {
		return entities, nil
	}
	return plain, searched
}

// pushSearched sends entities whose identifier is a search query, one by
// one, to Port's create-entity route with the query as identifier, as
// Ocean does: Port updates the one entity the query finds. They are kept
// out of the mirror, so never diffed (sent on every resync) and never
// deleted as stale, as Ocean keeps them out of its diff and its delete
// candidates (the entity belongs to whatever created it). A query that
// finds no entity or several is Port's refusal of that entity: logged,
// counted in Refused, and the rest goes on. It returns how many Port
// updated.
func (s *Sink) pushSearched(ctx context.Context, searched []*catalog.Entity) (int, error) {
	n := 0
	for _, e := range searched {
		id, err := s.port.UpsertSearch(ctx, e.Blueprint, toPort(e), e.Search, port.UpsertOptions{CreateMissingRelatedEntities: s.opts.CreateMissingRelatedEntities, Replace: s.opts.ReplaceEntities})
		var ae *port.APIError
		if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != http.StatusTooManyRequests && ae.Status != http.StatusUnauthorized {
			s.Refused.Add(1)
			s.opts.Log.Warn("Port refused an entity whose identifier is a search query (Port updates the one entity it matches and creates none); it will be sent again next resync",
				"blueprint", e.Blueprint, "search", e.Identifier, "status", ae.Status, "message", ae.Message)
			continue
		}
		if err != nil {
			return n, fmt.Errorf("port: writing %s entity with search identifier %s: %w", e.Blueprint, e.Identifier, err)
		}
		s.opts.Log.Debug("Port updated the entity a search identifier matched", "blueprint", e.Blueprint, "search", e.Identifier, "identifier", id)
		n++
	}
	return n, nil
}
