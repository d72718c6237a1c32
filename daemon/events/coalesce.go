package events

import (
	"container/list"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// Coalescing. A backlog holds many events for one object (a job's
// pending, running and success; a merge request's open, update, approve
// and merge), and the events of one object are applied one after the
// other. Each still fetches its object from GitLab, never trusting the
// payload, but an answer GitLab gave to a request sent after an event
// arrived already holds everything that event announced: the later
// events of the object reuse it instead of asking again. Every event is
// still handled, completed and acknowledged on its own (its own retries
// and dead letter), and its entities carry the version of the request the
// answer came from, so a reused answer never overwrites a newer write.

// DefaultCoalesceMargin is Processor.CoalesceMargin's default.
const DefaultCoalesceMargin = time.Second

// answers keeps GitLab's recent answers to the GETs events make, the
// most recently used first, within a count and a size.
type answers struct {
	mu      sync.Mutex
	byKey   map[answerKey]*list.Element // of *answer
	lru     list.List
	bytes   int
	maxN    int
	maxSize int
}

type answerKey struct {
	client *gitlab.Client
	path   string
}

// answer is one GET's outcome; done is closed once it is in, so events
// that may reuse a request still in flight wait for it instead of
// sending their own.
type answer struct {
	key    answerKey
	at     time.Time // when the request was sent
	done   chan struct{}
	status int
	body   []byte
	err    error
}

// Bounds of the answers kept: a project as GitLab serves it is a few kB.
const (
	answersMax     = 4096
	answersMaxSize = 16 << 20
)

type arrivalKey struct{}

// withArrival marks ctx as handling an event received at t: only answers
// to requests sent after t (plus the margin) may stand for its fetches.
func withArrival(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, arrivalKey{}, t)
}

// get is the crawl.Getter of an event's reads: it GETs path with client c
// into out, or takes GitLab's answer to a request for it sent after the
// event in ctx arrived (see withArrival; none without it). at is when the
// answering request was sent: the version of what is mapped from it.
func (p *Processor) get(ctx context.Context, c *gitlab.Client, path string, out any) (status int, at time.Time, err error) {
	arrived, _ := ctx.Value(arrivalKey{}).(time.Time)
	p.answersOnce.Do(func() {
		p.answers = &answers{byKey: map[answerKey]*list.Element{}, maxN: answersMax, maxSize: answersMaxSize}
	})
	margin := p.CoalesceMargin
	if margin == 0 {
		margin = DefaultCoalesceMargin
	}
	key := answerKey{c, path}
	a, mine := p.answers.take(key, arrived, margin, p.now)
	if mine {
		var raw json.RawMessage
		a.status, a.err = c.Do(ctx, http.MethodGet, path, nil, &raw)
		a.body = raw
		p.answers.settle(a)
	} else {
		select {
		case <-a.done:
		case <-ctx.Done():
			return 0, time.Time{}, ctx.Err()
		}
		p.Coalesced.Add(1)
	}
	if a.err != nil {
		return a.status, a.at, a.err
	}
	if out != nil && len(a.body) > 0 {
		if err := json.Unmarshal(a.body, out); err != nil {
			return a.status, a.at, fmt.Errorf("events: GET /%s: decoding GitLab's answer: %w", path, err)
		}
	}
	return a.status, a.at, nil
}

// take returns the answer to reuse for key (mine false), or a new one the
// caller must fetch and settle (mine true). An answer may be reused when
// its request was sent more than margin after arrived: GitLab sent the
// webhook after the change, so such an answer holds it (the margin covers
// clocks of replicas apart and replicas of GitLab's database behind).
func (c *answers) take(key answerKey, arrived time.Time, margin time.Duration, now func() time.Time) (*answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok && !arrived.IsZero() {
		a := el.Value.(*answer)
		if a.at.After(arrived.Add(margin)) {
			c.lru.MoveToFront(el)
			return a, false
		}
	}
	a := &answer{key: key, at: now(), done: make(chan struct{})}
	c.remove(key)
	c.byKey[key] = c.lru.PushFront(a)
	return a, true
}

// settle publishes a fetched answer. Only answers that will not change
// on a retry are kept (a success, 403 or 404); the others are dropped so
// the next event asks again.
func (c *answers) settle(a *answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(a.done)
	el, ok := c.byKey[a.key]
	if !ok || el.Value.(*answer) != a {
		return // replaced meanwhile by a newer request
	}
	if a.err != nil && a.status != http.StatusNotFound && a.status != http.StatusForbidden {
		c.remove(a.key)
		return
	}
	c.bytes += len(a.body)
	for c.lru.Len() > c.maxN || c.bytes > c.maxSize {
		last := c.lru.Back()
		if last == nil || last == el {
			break
		}
		c.remove(last.Value.(*answer).key)
	}
}

// remove forgets key's answer. c.mu is held.
func (c *answers) remove(key answerKey) {
	el, ok := c.byKey[key]
	if !ok {
		return
	}
	a := el.Value.(*answer)
	select {
	case <-a.done:
		c.bytes -= len(a.body)
	default: // in flight: not counted yet
	}
	c.lru.Remove(el)
	delete(c.byKey, key)
}
