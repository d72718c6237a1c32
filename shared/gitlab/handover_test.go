package gitlab_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// heldCounter counts the pages a client has received and its listings'
// consumers have not finished: what a listing holds in memory.
type heldCounter struct {
	held, peak atomic.Int64
}

func (h *heldCounter) got() {
	n := h.held.Add(1)
	for {
		p := h.peak.Load()
		if n <= p || h.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (h *heldCounter) done() { h.held.Add(-1) }

// Under a page budget, concurrent listings with slow consumers hold at
// most one page each plus the budget, and every page still arrives once.
func TestPageBudgetBoundsHeldPages(t *testing.T) {
	_, org, host := newSim(t, 2500)
	var hc heldCounter
	o := fastOpts()
	o.MaxConcurrent = 8
	o.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && r.URL.Path == "/api/v4/projects" {
			hc.got()
		}
		return resp, err
	})
	c, err := gitlab.New(host, org.AdminToken, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	const listings, budget = 6, 3
	ctx := gitlab.WithPageBudget(context.Background(), budget)
	var wg sync.WaitGroup
	counts := make([]map[float64]int, listings)
	for i := range listings {
		counts[i] = map[float64]int{}
		wg.Go(func() {
			list := c.ListOffset
			if i%2 == 1 {
				list = c.ListKeysetParallel
			}
			err := list(ctx, "projects", nil, func(p gitlab.Page) error {
				defer hc.done()
				time.Sleep(3 * time.Millisecond) // a consumer slower than GitLab
				for _, o := range p.Items {
					counts[i][o["id"].(float64)]++
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, seen := range counts {
		if len(seen) != 2500 {
			t.Fatalf("listing %d saw %d projects, want 2500", i, len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("listing %d saw project %v %d times", i, id, n)
			}
		}
	}
	t.Logf("peak pages held: %d", hc.peak.Load())
	if p := hc.peak.Load(); p > listings+budget {
		t.Fatalf("the listings held up to %d pages at once; the budget allows %d (one per listing and %d shared)", p, listings+budget, budget)
	}
}

// A listing started from a consumer's callback (a project's pipelines,
// read while the project listing's page is consumed) completes even when
// the budget is spent: each listing always has a page of its own.
func TestPageBudgetNestedListingsProgress(t *testing.T) {
	_, org, host := newSim(t, 900)
	c, err := gitlab.New(host, org.AdminToken, fastOpts(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The deadline detects a deadlock, not slowness: under -race on a busy
	// 2-core machine the 36 nested listings have taken over a minute.
	ctx, cancel := context.WithTimeout(gitlab.WithPageBudget(context.Background(), 0), 5*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	var nested atomic.Int64
	for range 4 {
		wg.Go(func() {
			err := c.ListOffset(ctx, "projects", nil, func(p gitlab.Page) error {
				return c.ListOffset(ctx, "projects", nil, func(q gitlab.Page) error {
					nested.Add(int64(len(q.Items)))
					return nil
				})
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, want := nested.Load(), int64(4*9*900); got != want {
		t.Fatalf("nested listings saw %d projects, want %d", got, want)
	}
}
