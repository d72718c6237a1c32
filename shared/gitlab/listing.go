// Listings: offset and keyset pagination, page by page, so callers stream
// instead of loading a whole collection (offsetpages.go reads the pages of
// listings GitLab does not count).

package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gogitlab "gitlab.com/gitlab-org/api/client-go"

	retryablehttp "github.com/hashicorp/go-retryablehttp"
)

// Page is one page of a listing: raw objects as GitLab sent them, and
// when the request for them was sent (what the catalog orders writes by).
type Page struct {
	Items       []map[string]any
	RequestedAt time.Time
}

// FirstItems fetches the first n items of an offset listing (newest first
// where GitLab orders so), in ceil(n/100) pages at most.
func (c *Client) FirstItems(ctx context.Context, path string, n int) (Page, error) {
	return c.FirstItemsQuery(ctx, path, nil, n)
}

// FirstItemsQuery is FirstItems with query parameters.
func (c *Client) FirstItemsQuery(ctx context.Context, path string, params url.Values, n int) (Page, error) {
	var out Page
	q := CloneValues(params)
	per := n
	if per > 100 {
		per = 100
	}
	q.Set("per_page", strconv.Itoa(per))
	for page := int64(1); ; page++ {
		q.Set("page", strconv.FormatInt(page, 10))
		p, resp, err := c.get(ctx, path, q)
		if err != nil {
			return out, err
		}
		if out.RequestedAt.IsZero() {
			out.RequestedAt = p.RequestedAt
		}
		out.Items = append(out.Items, p.Items...)
		if len(out.Items) >= n {
			out.Items = out.Items[:n]
			return out, nil
		}
		if resp.NextPage == 0 {
			return out, nil
		}
	}
}

// ListKeyset lists path (e.g. "projects") with keyset pagination ordered by
// id, calling fn for each page as it arrives. Keyset pages are chained, so
// they are fetched one after another; fn runs while the next page loads.
func (c *Client) ListKeyset(ctx context.Context, path string, params url.Values, fn func(Page) error) error {
	q := CloneValues(params)
	q.Set("pagination", "keyset")
	q.Set("order_by", "id")
	q.Set("sort", "asc")
	q.Set("per_page", "100")
	return c.chain(ctx, path, q, fn)
}

// ListKeysetRaw follows keyset pagination (Link rel="next") on listings
// that are not ordered by id, such as the repository tree.
func (c *Client) ListKeysetRaw(ctx context.Context, path string, params url.Values, fn func(Page) error) error {
	q := CloneValues(params)
	q.Set("pagination", "keyset")
	q.Set("per_page", "100")
	return c.chain(ctx, path, q, fn)
}

// WalkKeyset follows keyset pagination in GitLab's default order for path
// one page at a time, without fetching ahead, while fn asks for more: for
// listings read only up to a point (a project's newest jobs), where a
// page fetched ahead would be a wasted request.
func (c *Client) WalkKeyset(ctx context.Context, path string, params url.Values, fn func(Page) (more bool, err error)) error {
	q := CloneValues(params)
	q.Set("pagination", "keyset")
	if q.Get("per_page") == "" {
		q.Set("per_page", "100")
	}
	for {
		p, resp, err := c.get(ctx, path, q)
		if err != nil {
			return err
		}
		more, err := fn(p)
		if err != nil || !more || resp.NextLink == "" {
			return err
		}
		u, err := url.Parse(resp.NextLink)
		if err != nil {
			return fmt.Errorf("token %s: GET /%s: bad Link header: %w", c.Masked, path, err)
		}
		q = u.Query()
	}
}

type shiftKey struct{}

// WithShiftWatch returns a context in which an offset listing whose pages
// are read concurrently reports, in the flag, that the collection changed
// size meanwhile (X-Total differed between pages): an item may have slid
// from a page not yet read into one already read and been missed, so the
// listing must not be taken as complete (no stale deletion from it).
func WithShiftWatch(ctx context.Context) (context.Context, *atomic.Bool) {
	f := &atomic.Bool{}
	return context.WithValue(ctx, shiftKey{}, f), f
}

// WalkOffset lists path with offset pagination, 100 a page, one page at
// a time while fn asks for more, in the order params ask GitLab for, its
// own default when they ask none: its requests are those of a client
// that sends only per_page and page (Ocean's), and its pages reach fn in
// GitLab's order, the order Ocean's objects come in (ListOffset's arrive
// as they are read). fn learns the page count GitLab announced with the first
// page (X-Total-Pages), 0 when it did not count (over 10,000 items). A
// change of X-Total between pages is reported as WithShiftWatch says.
func (c *Client) WalkOffset(ctx context.Context, path string, params url.Values, fn func(p Page, totalPages int64) (more bool, err error)) error {
	q := CloneValues(params)
	q.Set("per_page", "100")
	shifted, _ := ctx.Value(shiftKey{}).(*atomic.Bool)
	total, items := int64(-1), int64(0)
	for page := int64(1); ; {
		q.Set("page", strconv.FormatInt(page, 10))
		p, resp, err := c.get(ctx, path, q)
		if err != nil {
			return err
		}
		if total < 0 {
			total, items = resp.TotalPages, resp.TotalItems
		} else if shifted != nil && resp.TotalItems != items {
			// Items came or went between pages: one may have slid
			// from an unread page into a read one (see WithShiftWatch).
			shifted.Store(true)
		}
		more, err := fn(p, total)
		if err != nil || !more || resp.NextPage <= page {
			return err
		}
		page = resp.NextPage
	}
}

// ListOffset lists path with offset pagination, 100 per page. When GitLab
// reports the number of pages (up to 10,000 items) the remaining pages are
// fetched concurrently; above, where GitLab stops counting, pages are
// read concurrently as far as they are known to exist and a little beyond
// (see offsetUncounted). Pages reach fn as they arrive, not in page
// order: a caller that needs GitLab's order reads with WalkOffset.
//
// It sends the order params ask for and adds none. It used to add
// order_by=id&sort=asc, so that objects created while the pages are read
// land on the last page; but most listings do not take that value, and
// Grape refuses a value outside an order_by's or sort's declared values
// with 400 (tags take name|updated|version, issues and merge requests no
// id, branches' sort takes name_asc|updated_asc|updated_desc), and the
// listings that declare no order ignore it. A caller that wants the
// append-only order asks for it where the listing declares it (groups,
// projects).
func (c *Client) ListOffset(ctx context.Context, path string, params url.Values, fn func(Page) error) error {
	q := CloneValues(params)
	q.Set("per_page", "100")
	q.Set("page", "1")
	first, resp, err := c.get(ctx, path, q)
	if err != nil {
		return err
	}
	if err := fn(first); err != nil {
		return err
	}
	if resp.NextPage == 0 {
		return nil
	}
	if resp.TotalPages == 0 {
		return c.offsetUncounted(ctx, path, q, resp.NextPage, fn)
	}
	shifted, _ := ctx.Value(shiftKey{}).(*atomic.Bool)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h := newHandover(ctx, c.InFlightLimit)
	var (
		next     atomic.Int64 // the highest page a worker took
		failOnce sync.Once
		firstErr error
	)
	next.Store(1)
	fail := func(err error) {
		failOnce.Do(func() { firstErr = err })
		cancel()
	}
	var wg sync.WaitGroup
	for range max(1, c.InFlightLimit()) {
		wg.Go(func() {
			for {
				if h.admit() != nil {
					return
				}
				p := next.Add(1)
				if p > resp.TotalPages {
					h.release()
					return
				}
				items, presp, err := c.get(ctx, path, withPage(q, p))
				if err != nil {
					h.release()
					fail(err)
					return
				}
				if shifted != nil && presp.TotalItems != resp.TotalItems {
					// Items came or went while pages were read out of order:
					// one may have slid from an unread page into a read one.
					shifted.Store(true)
				}
				if err := h.deliver(func() error { return fn(items) }); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// chain follows keyset pagination's next links one by one, prefetching
// the next page while fn handles the current one.
func (c *Client) chain(ctx context.Context, path string, q url.Values, fn func(Page) error) error {
	type result struct {
		items Page
		next  url.Values
		err   error
	}
	fetch := func(q url.Values) <-chan result {
		ch := make(chan result, 1)
		go func() {
			items, resp, err := c.get(ctx, path, q)
			r := result{items: items, err: err}
			if err == nil && resp.NextLink != "" {
				if u, perr := url.Parse(resp.NextLink); perr == nil {
					r.next = u.Query()
				}
			}
			ch <- r
		}()
		return ch
	}
	pending := fetch(q)
	for pending != nil {
		r := <-pending
		if r.err != nil {
			return r.err
		}
		pending = nil
		if r.next != nil {
			pending = fetch(r.next)
		}
		if err := fn(r.items); err != nil {
			if pending != nil {
				<-pending
			}
			return err
		}
	}
	return nil
}

func (c *Client) get(ctx context.Context, path string, q url.Values) (Page, *gogitlab.Response, error) {
	start := time.Now()
	req, err := c.API.NewRequest(http.MethodGet, path, nil, []gogitlab.RequestOptionFunc{
		gogitlab.WithContext(ctx),
		func(r *retryablehttp.Request) error { r.URL.RawQuery = q.Encode(); return nil },
	})
	if err != nil {
		return Page{}, nil, err
	}
	// The answer is taken whole and decoded in place: the transport has
	// read it into memory already, and a json.Decoder on top would hold a
	// second, growing copy of each page while decoding it (at eight pages
	// in flight per listing, more than the decoded pages themselves).
	var body bytes.Buffer
	resp, err := c.API.Do(req, &body)
	if err != nil {
		return Page{}, resp, c.wrap("GET /"+path, resp, err)
	}
	var items []map[string]any
	var dst any = &items
	if keep, ok := ctx.Value(fieldsKey{}).(map[string]bool); ok {
		dst = &projection{keep: keep, items: &items}
	}
	if err := json.Unmarshal(body.Bytes(), dst); err != nil {
		return Page{}, resp, c.wrap("GET /"+path, resp, fmt.Errorf("decoding the answer: %w", err))
	}
	return Page{Items: items, RequestedAt: start}, resp, nil
}

func withPage(q url.Values, page int64) url.Values {
	out := CloneValues(q)
	out.Set("page", strconv.FormatInt(page, 10))
	return out
}

// CloneValues copies query parameters: listings add their own (page,
// per_page, cursors) and must never write to a caller's shared map.
func CloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
