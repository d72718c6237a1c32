package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/glsync/terraform-provider-glsync/daemon/events"
	"github.com/glsync/terraform-provider-glsync/daemon/metrics"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
)

// The receiver's secrets in the fuzz test: webhookSecret (every hook's
// secret derives from it), the system hook's hand-made secret, and the
// secrets the store holds for two group hooks.
const (
	fuzzMaster       = "fuzz-webhook-secret"
	fuzzSystemSecret = "s3cret"
)

var fuzzStored = map[string]string{"group:42": "stored-secret-42", "group:7": "stored-secret-7"}

// fuzzScopes are the managed hook scopes (Receiver.Scopes).
var fuzzScopes = []string{"system", "group:7", "group:42"}

// Flags of a fuzz input.
const (
	flagQueueDown     = 1 << iota // Enqueue fails
	flagDuplicate                 // the delivery id was accepted before
	flagSecretsDown               // the secret store fails
	flagNoMaster                  // no webhookSecret
	flagNoScopes                  // Receiver.Scopes is nil
	flagIdempotency               // the id comes as Idempotency-Key
	flagInFlight                  // a budget for delivery bytes in memory
	flagUnknownLength             // no Content-Length (chunked)
	flagShortLength               // a Content-Length smaller than the body
)

// fuzzInFlight is the in-flight budget with flagInFlight: room for one
// 32 KB delivery.
const fuzzInFlight = 32 << 10

// fakeQueue is the durable queue, in memory: only Enqueue, which the
// Receiver calls.
type fakeQueue struct {
	catalog.Queue
	down, dup bool
	calls     []*catalog.Event
	stored    []*catalog.Event
}

func (q *fakeQueue) Enqueue(_ context.Context, e *catalog.Event) (bool, error) {
	q.calls = append(q.calls, e)
	switch {
	case q.down:
		return false, errors.New("queue: database is restarting")
	case q.dup && e.Delivery != "":
		return true, nil
	}
	q.stored = append(q.stored, e)
	return false, nil
}

// fakeSecrets is the secret store, in memory: only HookSecret, which the
// Receiver calls.
type fakeSecrets struct {
	catalog.Secrets
	down bool
}

func (s fakeSecrets) HookSecret(_ context.Context, scope string) (catalog.HookSecret, bool, error) {
	if s.down {
		return catalog.HookSecret{}, false, errors.New("secrets: database is restarting")
	}
	v, ok := fuzzStored[scope]
	return catalog.HookSecret{Scope: scope, Secret: v}, ok, nil
}

// secretsFor are the secrets a delivery for scope may carry under flags.
func secretsFor(scope string, flags uint16) []string {
	var out []string
	if flags&flagNoMaster == 0 {
		out = append(out, hooks.DeriveSecret(fuzzMaster, scope))
	}
	if v, ok := fuzzStored[scope]; ok && flags&flagSecretsDown == 0 {
		out = append(out, v)
	}
	if scope == hooks.SystemScope {
		out = append(out, fuzzSystemSecret)
	}
	return out
}

var fuzzMetrics = sync.OnceValue(func() *metrics.Metrics { return metrics.New(func() float64 { return 0 }, nil) })

// FuzzReceiver sends one delivery, every part of it fuzzed, through the
// Receiver with an in-memory queue and secret store. It must not panic,
// must answer a status in {200,202,400,401,404,405,413,503} with a JSON
// body, and must queue (at most once) only a POSTed, authenticated
// delivery of a handled event whose body is a JSON object no larger than
// MaxBody, exactly as received.
func FuzzReceiver(f *testing.F) {
	fixtures, err := gitlabtest.Fixtures()
	if err != nil || len(fixtures) == 0 {
		f.Fatalf("payload fixtures: %d, %v", len(fixtures), err)
	}
	for _, fx := range fixtures {
		event, body := fx.Event, fx.Body
		const uuid = "4d0c4f50-7bd0-4a4e-a0e8-bd4d4e3c1b61"
		if event == "System Hook" {
			f.Add(hooks.SystemHookPath, http.MethodPost, event, fuzzSystemSecret, uuid, body, uint16(0), uint16(0))
			f.Add(hooks.SystemHookPath, http.MethodPost, event, hooks.DeriveSecret(fuzzMaster, hooks.SystemScope), "", body, uint16(flagNoScopes), uint16(0))
			continue
		}
		f.Add(hooks.GroupHookPath+"42", http.MethodPost, event, hooks.DeriveSecret(fuzzMaster, "group:42"), uuid, body, uint16(0), uint16(0))
		f.Add(hooks.GroupHookPath+"42", http.MethodPost, event, "stored-secret-42", uuid, body, uint16(flagDuplicate|flagIdempotency), uint16(0))
		f.Add(hooks.OceanWebhookPath, http.MethodPost, event, "stored-secret-7", uuid, body, uint16(0), uint16(0))
		f.Add(hooks.GroupHookPath+"7", http.MethodPost, event, hooks.DeriveSecret(fuzzMaster, "group:7"), uuid, body, uint16(flagQueueDown), uint16(0))
		f.Add(hooks.GroupHookPath+"7", http.MethodPost, event, hooks.DeriveSecret(fuzzMaster, "group:7"), uuid, body, uint16(flagUnknownLength), uint16(len(body)-1))
		f.Add(hooks.GroupHookPath+"7", http.MethodGet, event, "stored-secret-42", "", body, uint16(flagSecretsDown|flagInFlight), uint16(len(body)))
	}
	f.Fuzz(func(t *testing.T, path, method, event, token, delivery string, body []byte, flags, maxBody uint16) {
		if len(body) > 64<<10 {
			t.Skip("body larger than 64 KB")
		}
		q := &fakeQueue{down: flags&flagQueueDown != 0, dup: flags&flagDuplicate != 0}
		o := ReceiverOptions{SystemSecret: fuzzSystemSecret,
			MaxBody: int64(maxBody), ObjectKey: events.ObjectKey, EnqueueWait: 1, // one attempt
			Metrics: fuzzMetrics(), Log: slog.New(slog.DiscardHandler),
		}
		if flags&flagNoMaster == 0 {
			o.Master = fuzzMaster
		}
		if flags&flagInFlight != 0 {
			o.InFlight, o.InFlightWait = semaphore.NewWeighted(fuzzInFlight), time.Millisecond
		}
		if flags&flagNoScopes == 0 {
			o.Scopes = func(context.Context) []string { return fuzzScopes }
		}
		rc := NewReceiver(q, fakeSecrets{down: flags&flagSecretsDown != 0}, o)
		limit := int64(25 << 20)
		if maxBody > 0 {
			limit = int64(maxBody)
		}
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Method, req.URL.Path = method, path
		req.Header.Set("X-Gitlab-Event", event)
		req.Header.Set("X-Gitlab-Token", token)
		if flags&flagIdempotency != 0 {
			req.Header.Set("Idempotency-Key", delivery)
		} else {
			req.Header.Set("X-Gitlab-Event-UUID", delivery)
		}
		switch {
		case flags&flagUnknownLength != 0:
			req.ContentLength = -1
		case flags&flagShortLength != 0:
			req.ContentLength = int64(len(body) / 2)
		}
		rec := httptest.NewRecorder()
		rc.ServeHTTP(rec, req)

		code := rec.Code
		if !slices.Contains([]int{200, 202, 400, 401, 404, 405, 413, 503}, code) {
			t.Fatalf("status %d", code)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("status %d with a body that is not JSON: %q", code, rec.Body.String())
		}
		if int64(len(body)) > limit {
			if len(q.calls) > 0 {
				t.Fatalf("a %d-byte body (MaxBody %d) was queued", len(body), limit)
			}
			busy := code == 503 && o.InFlight != nil && rec.Header().Get("Retry-After") != ""
			if !slices.Contains([]int{401, 404, 405, 413}, code) && !busy {
				t.Fatalf("a %d-byte body (MaxBody %d) got status %d", len(body), limit, code)
			}
		}
		switch {
		case code == 503 && len(q.calls) == 0 && (o.InFlight == nil || rec.Header().Get("Retry-After") == ""):
			t.Fatalf("503 neither from the queue nor from the in-flight budget")
		case code == 503 && len(q.calls) > 0 && !q.down:
			t.Fatalf("503 though the queue is up")
		case code == 202 && len(q.stored) != 1:
			t.Fatalf("202 with %d events stored", len(q.stored))
		case code != 202 && len(q.stored) != 0:
			t.Fatalf("status %d but %d events stored", code, len(q.stored))
		}
		if len(q.calls) == 0 {
			return
		}
		if len(q.calls) != 1 {
			t.Fatalf("Enqueue called %d times for one delivery", len(q.calls))
		}
		ev := q.calls[0]
		// What may be queued.
		if method != http.MethodPost {
			t.Fatalf("a %q request was queued", method)
		}
		if !Handled[event] || ev.Type != event {
			t.Fatalf("event %q queued as %q", event, ev.Type)
		}
		if !bytes.Equal(ev.Body, body) || !json.Valid(body) || body[0] != '{' {
			t.Fatalf("body queued as %q, received %q", ev.Body, body)
		}
		if ev.Object != events.ObjectKey(event, body) {
			t.Fatalf("object %q, want %q", ev.Object, events.ObjectKey(event, body))
		}
		var scopes []string
		switch {
		case path == hooks.SystemHookPath:
			scopes = []string{hooks.SystemScope}
			if ev.Source != "system" || ev.Scope != "" {
				t.Fatalf("system delivery queued with source %q scope %q", ev.Source, ev.Scope)
			}
		case path == hooks.OceanWebhookPath:
			if o.Scopes == nil {
				t.Fatal("a delivery to Ocean's route queued with no managed hook")
			}
			for _, sc := range fuzzScopes {
				if strings.HasPrefix(sc, "group:") {
					scopes = append(scopes, sc)
				}
			}
			if ev.Source != "group" || !slices.Contains(scopes, "group:"+ev.Scope) {
				t.Fatalf("Ocean route delivery queued with source %q scope %q", ev.Source, ev.Scope)
			}
			scopes = []string{"group:" + ev.Scope}
		case strings.HasPrefix(path, hooks.GroupHookPath):
			id, err := strconv.ParseInt(strings.TrimPrefix(path, hooks.GroupHookPath), 10, 64)
			if err != nil || id <= 0 {
				t.Fatalf("a delivery to %q was queued", path)
			}
			scopes = []string{hooks.GroupScope(id)}
			if ev.Source != "group" || "group:"+ev.Scope != scopes[0] {
				t.Fatalf("group delivery to %q queued with source %q scope %q", path, ev.Source, ev.Scope)
			}
		default:
			t.Fatalf("a delivery to %q was queued", path)
		}
		authorized := false
		for _, sc := range scopes {
			if token != "" && slices.Contains(secretsFor(sc, flags), token) {
				authorized = true
			}
		}
		if !authorized {
			t.Fatalf("a delivery to %q with a wrong token was queued", path)
		}
		if ev.Delivery != delivery {
			t.Fatalf("delivery id %q queued as %q", delivery, ev.Delivery)
		}
	})
}
