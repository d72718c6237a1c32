package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
)

// countingSecrets is a hook secret store that counts its reads: what a
// delivery costs, independent of the machine's speed.
type countingSecrets struct {
	mu      sync.Mutex
	secrets map[string]string
	reads   atomic.Int64
}

func (s *countingSecrets) PutHookSecret(_ context.Context, h catalog.HookSecret) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[h.Scope] = h.Secret
	return nil
}

func (s *countingSecrets) HookSecret(_ context.Context, scope string) (catalog.HookSecret, bool, error) {
	s.reads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.secrets[scope]
	return catalog.HookSecret{Scope: scope, Secret: v}, ok, nil
}

func (s *countingSecrets) DeleteHookSecret(_ context.Context, scope string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.secrets, scope)
	return nil
}

// oceanRouteFixture is a receiver managing n group hooks (group:1 …
// group:n), each with a stored secret, under a webhookSecret too.
type oceanRouteFixture struct {
	rc           *Receiver
	q            *budgetQueue
	store        *countingSecrets
	scopeCalls   atomic.Int64
	scopesMu     sync.Mutex
	scopes       []string
	master       string
	storedOfHook func(id int) string
}

const oceanMaster = "ocean-route-master-secret-0123456789"

func newOceanRouteFixture(n int) *oceanRouteFixture {
	f := &oceanRouteFixture{q: &budgetQueue{}, store: &countingSecrets{secrets: map[string]string{}}, master: oceanMaster,
		storedOfHook: func(id int) string { return fmt.Sprintf("stored-secret-of-hook-%06d-Xq7", id) }}
	for id := 1; id <= n; id++ {
		sc := hooks.GroupScope(int64(id))
		f.scopes = append(f.scopes, sc)
		f.store.secrets[sc] = f.storedOfHook(id)
	}
	f.scopes = append(f.scopes, hooks.SystemScope)
	f.rc = NewReceiver(f.q, f.store, ReceiverOptions{Master: f.master, Log: slog.New(slog.DiscardHandler),
		// Rebuilt only when a test says so, whatever the machine's speed.
		IndexMaxAge: time.Hour, IndexMinAge: time.Hour,
		Scopes: func(context.Context) []string {
			f.scopeCalls.Add(1)
			f.scopesMu.Lock()
			defer f.scopesMu.Unlock()
			return append([]string(nil), f.scopes...)
		}})
	return f
}

// post delivers a push to Ocean's route with token; it returns the status
// and the scope of the event queued ("" when none was).
func (f *oceanRouteFixture) post(t *testing.T, token string) (int, string) {
	t.Helper()
	f.q.mu.Lock()
	before := len(f.q.evs)
	f.q.mu.Unlock()
	body := `{"object_kind":"push"}`
	w := postDelivery(t, f.rc, hooks.OceanWebhookPath, token, strings.NewReader(body), int64(len(body)))
	f.q.mu.Lock()
	defer f.q.mu.Unlock()
	if len(f.q.evs) == before {
		return w.Code, ""
	}
	return w.Code, f.q.evs[len(f.q.evs)-1].Scope
}

// reads is the store reads and Scopes calls since the last call.
func (f *oceanRouteFixture) reads() (int64, int64) {
	return f.store.reads.Swap(0), f.scopeCalls.Swap(0)
}

// TestForgedIntegrationWebhookCostsOneLookup: on Ocean's single route
// (/integration/webhook), which names no hook, the receiver used to try
// every managed hook's secret, one store read (a database query, a
// decryption) each: anyone could make each forged request cost as much as
// the hooks glsync manages. With 1,000 hooks, forged requests now cost no
// store read (one digest lookup); a valid one, for any hook and by stored
// or derived (webhookSecret) secret, costs one read (the constant-time
// check against that hook's secret) and is routed to its hook's scope.
func TestForgedIntegrationWebhookCostsOneLookup(t *testing.T) {
	const n = 1000
	f := newOceanRouteFixture(n)

	// The first delivery builds the index: one read per hook, once.
	if code, scope := f.post(t, f.storedOfHook(1)); code != http.StatusAccepted || scope != "1" {
		t.Fatalf("valid delivery for hook 1: %d, scope %q", code, scope)
	}
	if reads, _ := f.reads(); reads > n+1 {
		t.Fatalf("building the index took %d reads for %d hooks", reads, n)
	}

	const forged = 500
	for i := range forged {
		if code, scope := f.post(t, "forged-token-"+strconv.Itoa(i)+"-0123456789abcdef"); code != http.StatusUnauthorized || scope != "" {
			t.Fatalf("forged delivery: %d, scope %q", code, scope)
		}
	}
	if reads, scopeCalls := f.reads(); reads != 0 || scopeCalls != 0 {
		t.Fatalf("%d forged deliveries cost %d secret reads and %d hook listings with %d hooks; want none (one digest lookup each)", forged, reads, scopeCalls, n)
	}

	for _, id := range []int{1, 2, 417, 999, n} {
		for name, token := range map[string]string{
			"stored":  f.storedOfHook(id),
			"derived": hooks.DeriveSecret(f.master, hooks.GroupScope(int64(id))),
		} {
			code, scope := f.post(t, token)
			if code != http.StatusAccepted || scope != strconv.Itoa(id) {
				t.Fatalf("valid delivery for hook %d by its %s secret: %d, routed to scope %q", id, name, code, scope)
			}
			if reads, scopeCalls := f.reads(); reads != 1 || scopeCalls != 0 {
				t.Fatalf("valid delivery for hook %d: %d secret reads, %d hook listings; want 1 and 0", id, reads, scopeCalls)
			}
		}
	}
	// The system hook's secret is no group hook's: not on this route.
	if code, _ := f.post(t, hooks.DeriveSecret(f.master, hooks.SystemScope)); code != http.StatusUnauthorized {
		t.Fatalf("system hook secret on Ocean's route: %d", code)
	}
}

// TestForgedIntegrationWebhookFloodRebuildsOnce: a delivery that matches
// no hook may carry a secret written since the index was built (another
// replica, `glsyncd hooks apply`), so it may rebuild the index, but at most
// once per IndexMinAge however many forged deliveries arrive at once. A
// secret changed here (SecretsChanged) is found at once; a stored secret
// deleted is refused at once, though the index still holds its digest;
// an index whose build overlapped a change is not used.
func TestForgedIntegrationWebhookFloodRebuildsOnce(t *testing.T) {
	const n = 1000
	f := newOceanRouteFixture(n)
	f.post(t, f.storedOfHook(1))
	f.reads()

	// A new hook, its secret written elsewhere.
	f.scopesMu.Lock()
	f.scopes = append(f.scopes, hooks.GroupScope(n+1))
	f.scopesMu.Unlock()
	newSecret := "secret-written-by-another-replica-0123"
	_ = f.store.PutHookSecret(context.Background(), catalog.HookSecret{Scope: hooks.GroupScope(n + 1), Secret: newSecret})
	if code, _ := f.post(t, newSecret); code != http.StatusUnauthorized {
		t.Fatalf("a secret written elsewhere was found before IndexMinAge: %d", code)
	}
	if reads, _ := f.reads(); reads != 0 {
		t.Fatalf("a miss within IndexMinAge cost %d reads", reads)
	}

	// Past IndexMinAge (the index aged by hand, not by sleeping): 200
	// forged deliveries at once rebuild it once.
	f.rc.o.IndexMinAge = time.Minute
	f.rc.index.Load().built = time.Now().Add(-2 * time.Minute)
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			if code, _ := f.post(t, "forged-"+strconv.Itoa(i)); code != http.StatusUnauthorized {
				t.Errorf("forged delivery: %d", code)
			}
		})
	}
	wg.Wait()
	if reads, scopeCalls := f.reads(); scopeCalls != 1 || reads > n+2 {
		t.Fatalf("200 forged deliveries at once: %d rebuilds, %d secret reads; want one rebuild (%d reads at most)", scopeCalls, reads, n+2)
	}
	if code, scope := f.post(t, newSecret); code != http.StatusAccepted || scope != strconv.Itoa(n+1) {
		t.Fatalf("after the rebuild, the new hook's delivery: %d, scope %q", code, scope)
	}

	// Changed here: found at once, IndexMinAge or not.
	f.rc.o.IndexMinAge = time.Hour
	rotated := "rotated-secret-of-hook-7-0123456789ab"
	_ = f.store.PutHookSecret(context.Background(), catalog.HookSecret{Scope: hooks.GroupScope(7), Secret: rotated})
	f.rc.SecretsChanged()
	if code, scope := f.post(t, rotated); code != http.StatusAccepted || scope != "7" {
		t.Fatalf("rotated secret after SecretsChanged: %d, scope %q", code, scope)
	}
	// Deleted: refused at once, the index notwithstanding.
	_ = f.store.DeleteHookSecret(context.Background(), hooks.GroupScope(8))
	if code, _ := f.post(t, f.storedOfHook(8)); code != http.StatusUnauthorized {
		t.Fatalf("deleted secret accepted: %d", code)
	}
	if code, scope := f.post(t, hooks.DeriveSecret(f.master, hooks.GroupScope(8))); code != http.StatusAccepted || scope != "8" {
		t.Fatalf("derived secret of hook 8: %d, scope %q", code, scope)
	}
	// Changed while a rebuild reads the store: that index does not count.
	f.rc.SecretsChanged()
	list := f.rc.o.Scopes
	f.rc.o.Scopes = func(ctx context.Context) []string {
		f.rc.SecretsChanged() // a reconciliation finishing meanwhile
		return list(ctx)
	}
	f.post(t, f.storedOfHook(9))
	f.rc.o.Scopes = list
	f.reads()
	if code, scope := f.post(t, f.storedOfHook(9)); code != http.StatusAccepted || scope != "9" {
		t.Fatalf("hook 9: %d, scope %q", code, scope)
	}
	if _, scopeCalls := f.reads(); scopeCalls != 1 {
		t.Fatalf("an index built across a change was used: %d rebuilds after it, want 1", scopeCalls)
	}
}
