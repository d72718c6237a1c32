package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// budgetQueue is a catalog.Queue that keeps what is enqueued; the
// listener only enqueues (the other methods would panic on the nil
// embedded Queue).
type budgetQueue struct {
	catalog.Queue
	mu  sync.Mutex
	evs []*catalog.Event
}

func (q *budgetQueue) Enqueue(_ context.Context, e *catalog.Event) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.evs = append(q.evs, e)
	return false, nil
}
func (q *budgetQueue) Depth(context.Context) (int, error) { return len(q.evs), nil }

// budgetSecrets knows one group hook's secret.
type budgetSecrets struct{}

func (budgetSecrets) PutHookSecret(context.Context, catalog.HookSecret) error { return nil }
func (budgetSecrets) HookSecret(_ context.Context, scope string) (catalog.HookSecret, bool, error) {
	return catalog.HookSecret{Scope: scope, Secret: "s3cret-for-group-7"}, scope == "group:7", nil
}
func (budgetSecrets) DeleteHookSecret(context.Context, string) error { return nil }

func postDelivery(t *testing.T, rc *Receiver, path, token string, body io.Reader, length int64) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, body)
	req.ContentLength = length
	req.Header.Set("X-Gitlab-Event", "Push Hook")
	req.Header.Set("X-Gitlab-Token", token)
	w := httptest.NewRecorder()
	rc.ServeHTTP(w, req)
	return w
}

// Deliveries whose bytes would overflow the in-flight budget wait, then
// get 503 with Retry-After; room freed lets the next one in.
func TestInFlightBudget(t *testing.T) {
	q := &budgetQueue{}
	rc := NewReceiver(q, budgetSecrets{}, ReceiverOptions{MaxBody: 1 << 20, InFlight: semaphore.NewWeighted(2 << 20),
		InFlightWait: 100 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	body := []byte(`{"object_kind":"push","pad":"` + strings.Repeat("x", 900<<10) + `"}`)
	// Two deliveries that are still arriving hold the budget.
	var writers []*io.PipeWriter
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := 0; i < 2; i++ {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = postDelivery(t, rc, "/integration/hook/7", "s3cret-for-group-7", pr, int64(len(body))).Code
		}()
	}
	time.Sleep(50 * time.Millisecond)
	w := postDelivery(t, rc, "/integration/hook/7", "s3cret-for-group-7", bytes.NewReader(body), int64(len(body)))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("over budget: %d %q", w.Code, w.Header().Get("Retry-After"))
	}
	for _, pw := range writers {
		pw.Write(body)
		pw.Close()
	}
	wg.Wait()
	if codes[0] != http.StatusAccepted || codes[1] != http.StatusAccepted {
		t.Fatalf("the deliveries in flight: %v", codes)
	}
	if w := postDelivery(t, rc, "/integration/hook/7", "s3cret-for-group-7", bytes.NewReader(body), int64(len(body))); w.Code != http.StatusAccepted {
		t.Fatalf("after room was freed: %d", w.Code)
	}
	if len(q.evs) != 3 {
		t.Fatalf("%d queued", len(q.evs))
	}
}

// Refused deliveries are logged once per scope and interval, with the
// count of those not logged, and the memory for it is bounded however
// many scopes an attacker sends to.
func TestRefusalLogsAreThrottled(t *testing.T) {
	var logs bytes.Buffer
	// The receiver's own clock, so that a slow machine's 500 requests
	// all fall in one interval, and the next one after it.
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	var clock sync.Mutex
	rc := NewReceiver(&budgetQueue{}, budgetSecrets{}, ReceiverOptions{
		Log: slog.New(slog.NewTextHandler(&logs, nil)), WarnEvery: 200 * time.Millisecond,
		Now: func() time.Time { clock.Lock(); defer clock.Unlock(); return now },
	})
	for i := 0; i < 500; i++ {
		postDelivery(t, rc, "/integration/hook/8", "wrong", strings.NewReader(`{}`), 2)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d warnings for 500 refusals to one hook:\n%s", n, logs.String())
	}
	clock.Lock()
	now = now.Add(250 * time.Millisecond)
	clock.Unlock()
	postDelivery(t, rc, "/integration/hook/8", "wrong", strings.NewReader(`{}`), 2)
	if !strings.Contains(logs.String(), "suppressed_since_last=499") {
		t.Fatalf("the next warning must count the suppressed ones:\n%s", logs.String())
	}
	// An attacker's flood to many hook ids, within one interval.
	logs.Reset()
	rc = NewReceiver(&budgetQueue{}, budgetSecrets{}, ReceiverOptions{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	for i := 0; i < 5000; i++ {
		postDelivery(t, rc, fmt.Sprintf("/integration/hook/%d", 100000+i), "wrong", strings.NewReader(`{}`), 2)
	}
	rc.warnMu.Lock()
	n := len(rc.warned)
	rc.warnMu.Unlock()
	if n > maxWarnKeys+1 {
		t.Fatalf("%d remembered scopes", n)
	}
	if lines := strings.Count(logs.String(), "level=WARN"); lines > maxWarnKeys+3 {
		t.Fatalf("%d warnings for 5,000 refusals", lines)
	}
	if strings.Contains(logs.String(), "wrong") {
		t.Fatal("a sent token appears in the logs")
	}
}
