package console

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// fakeCatalog is a catalog.Browser over a slice, with the stores'
// keyset paging: ordered by blueprint then identifier.
type fakeCatalog struct {
	entities   []*catalog.Entity
	prov       map[catalog.Key]catalog.Provenance
	deliveries []catalog.DeliveryRecord
}

func (f *fakeCatalog) BlueprintCounts(context.Context) (map[string]int, error) {
	out := map[string]int{}
	for _, e := range f.entities {
		out[e.Blueprint]++
	}
	return out, nil
}

func less(a, b catalog.Key) int {
	return cmp.Or(cmp.Compare(a.Blueprint, b.Blueprint), cmp.Compare(a.Identifier, b.Identifier))
}

func (f *fakeCatalog) Page(_ context.Context, q catalog.PageQuery) (catalog.EntityPage, error) {
	es := slices.Clone(f.entities)
	slices.SortFunc(es, func(a, b *catalog.Entity) int { return less(a.Key(), b.Key()) })
	var p catalog.EntityPage
	s := strings.ToLower(q.Search)
	for _, e := range es {
		if q.Blueprint != "" && e.Blueprint != q.Blueprint {
			continue
		}
		if q.After != (catalog.Key{}) && less(e.Key(), q.After) <= 0 {
			continue
		}
		if s != "" && !strings.Contains(strings.ToLower(e.Identifier), s) && !strings.Contains(strings.ToLower(e.Title), s) {
			continue
		}
		if len(p.Entities) == q.Limit {
			k := p.Entities[len(p.Entities)-1].Key()
			p.Next = &k
			break
		}
		p.Entities = append(p.Entities, e)
	}
	return p, nil
}

func (f *fakeCatalog) Entity(_ context.Context, k catalog.Key) (*catalog.Entity, catalog.Provenance, bool, error) {
	for _, e := range f.entities {
		if e.Key() == k {
			return e, f.prov[k], true, nil
		}
	}
	return nil, catalog.Provenance{}, false, nil
}

func (f *fakeCatalog) RecentDeliveries(_ context.Context, limit int) ([]catalog.DeliveryRecord, error) {
	return f.deliveries[:min(limit, len(f.deliveries))], nil
}

type fakeQueue struct {
	mu       sync.Mutex
	dead     []catalog.DeadLetter
	requeued []int64
	dropped  []int64
}

func (q *fakeQueue) DeadLetters(context.Context) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.dead), nil
}

func (q *fakeQueue) ListDeadLetters(_ context.Context, limit int) ([]catalog.DeadLetter, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.dead[:min(limit, len(q.dead))]), nil
}

func (q *fakeQueue) remove(ids []int64, into *[]int64) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	q.dead = slices.DeleteFunc(q.dead, func(d catalog.DeadLetter) bool {
		if slices.Contains(ids, d.ID) {
			n++
			*into = append(*into, d.ID)
			return true
		}
		return false
	})
	return n
}

func (q *fakeQueue) RequeueDeadLetters(_ context.Context, ids []int64) (int, error) {
	return q.remove(ids, &q.requeued), nil
}

func (q *fakeQueue) DropDeadLetters(_ context.Context, ids []int64) (int, error) {
	return q.remove(ids, &q.dropped), nil
}

type fakeStatus struct {
	o        Overview
	requests int
}

func (s *fakeStatus) Overview(context.Context) (Overview, error) { return s.o, nil }

func (s *fakeStatus) RequestResync(context.Context) (string, error) {
	s.requests++
	if s.requests > 1 {
		return "", ErrBusy
	}
	return "0123456789abcdef", nil
}

type fakeSettings struct{ v SettingsView }

func (s fakeSettings) Settings(context.Context) (SettingsView, error) { return s.v, nil }

var testTime = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
