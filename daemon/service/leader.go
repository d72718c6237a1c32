package service

import (
	"context"
	"sync"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// leadLoop campaigns for leadership and, while this replica leads, runs
// the scheduled and requested resyncs and the hook reconciliation. With
// the embedded catalog the process always leads. With PostgreSQL, when
// the connection holding leadership fails, the lead context ends: a
// running crawl stops at once and deletes nothing, and this replica
// campaigns again while another takes over.
func (s *Service) leadLoop(ctx context.Context) {
	for ctx.Err() == nil {
		lead, release, err := s.coord.Lead(ctx)
		if err != nil {
			return // ctx ended
		}
		s.leading.Store(true)
		if s.opts.Config.UsesPostgres() {
			s.log.Info("this replica leads: it runs resyncs and hook reconciliation", "replica", s.coord.Replica())
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.maintainLoop(lead)
		}()
		if s.opts.Config.AppHost != "" {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.reconcileLoop(lead)
			}()
		}
		s.schedule(lead)
		wg.Wait()
		release()
		s.leading.Store(false)
		// The new leader reports the hooks; this replica's view ages.
		s.metrics.SetHooks(nil)
		s.hookState.clearHooks()
		if ctx.Err() == nil {
			s.log.Warn("leadership lost (the database connection that held it failed): this replica stopped its resync and hook reconciliation; another replica takes over",
				"replica", s.coord.Replica())
		}
	}
}

// maintainEvery is how often the leader prunes the queue's records past
// their retention and gives the catalog's free space back.
const maintainEvery = 10 * time.Minute

func (s *Service) maintainLoop(ctx context.Context) {
	t := time.NewTicker(maintainEvery)
	defer t.Stop()
	for {
		m, err := s.maintainer.Maintain(ctx, catalog.Retention{Deliveries: s.opts.Config.DeliveryDedupeWindow, DeadLetters: s.opts.Config.DeadLetterRetention})
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("catalog maintenance failed", "error", err)
		case m.DeliveriesPruned+m.DeadLettersPruned > 0 || m.BytesReclaimed > 1<<20:
			s.log.Info("catalog maintenance", "delivery_ids_pruned", m.DeliveriesPruned, "dead_letters_pruned", m.DeadLettersPruned,
				"bytes_reclaimed", m.BytesReclaimed)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
