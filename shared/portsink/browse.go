package portsink

import (
	"context"
	"fmt"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

var _ catalog.Browser = (*Sink)(nil)

// The console reads Port mode's catalog from the mirror: what glsync
// last wrote to Port, with its provenance and the queue's delivery log,
// without a request to Port per page. These methods let a caller holding
// the sink read it the same way as one holding the mirror.

// browser is the mirror as a catalog.Browser (both stores are).
func (s *Sink) browser() (catalog.Browser, error) {
	b, ok := s.mirror.(catalog.Browser)
	if !ok {
		return nil, fmt.Errorf("portsink: the mirror (%T) cannot be browsed", s.mirror)
	}
	return b, nil
}

// BlueprintCounts is how many entities of each blueprint the mirror holds.
func (s *Sink) BlueprintCounts(ctx context.Context) (map[string]int, error) {
	b, err := s.browser()
	if err != nil {
		return nil, err
	}
	return b.BlueprintCounts(ctx)
}

// Page lists a page of the mirror's entities (catalog.Browser).
func (s *Sink) Page(ctx context.Context, q catalog.PageQuery) (catalog.EntityPage, error) {
	b, err := s.browser()
	if err != nil {
		return catalog.EntityPage{}, err
	}
	return b.Page(ctx, q)
}

// Entity reads one entity of the mirror and its provenance.
func (s *Sink) Entity(ctx context.Context, k catalog.Key) (*catalog.Entity, catalog.Provenance, bool, error) {
	b, err := s.browser()
	if err != nil {
		return nil, catalog.Provenance{}, false, err
	}
	return b.Entity(ctx, k)
}

// RecentDeliveries lists the latest delivery outcomes the mirror's queue
// recorded.
func (s *Sink) RecentDeliveries(ctx context.Context, limit int) ([]catalog.DeliveryRecord, error) {
	b, err := s.browser()
	if err != nil {
		return nil, err
	}
	return b.RecentDeliveries(ctx, limit)
}
