package webhook

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/glsync/terraform-provider-glsync/daemon/metrics"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/whsig"
)

// dedupeQueue queues an event once per delivery id, as the stores do.
type dedupeQueue struct {
	catalog.Queue
	mu   sync.Mutex
	seen map[string]bool
	evs  []*catalog.Event
}

func (q *dedupeQueue) Enqueue(_ context.Context, e *catalog.Event) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.seen[e.Delivery] {
		return true, nil
	}
	q.seen[e.Delivery] = true
	q.evs = append(q.evs, e)
	return false, nil
}

// signedDelivery is a delivery to group 7's hook as GitLab 19 signs it
// with the key glsync derives from the hook's secret.
type signedDelivery struct {
	id, ts, sig, token string
	body               []byte
	unsigned           bool // no Standard Webhooks header at all
}

func signFor(secret, id string, at time.Time, body []byte) signedDelivery {
	key, _ := whsig.Key(hooks.SigningToken(secret, "group:7"))
	return signedDelivery{id: id, ts: strconv.FormatInt(at.Unix(), 10), sig: whsig.Sign(key, id, at.Unix(), body), token: secret, body: body}
}

func (d signedDelivery) post(rc *Receiver) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, hooks.GroupHookPath+"7", strings.NewReader(string(d.body)))
	req.Header.Set("X-Gitlab-Event", "Push Hook")
	req.Header.Set("X-Gitlab-Token", d.token)
	req.Header.Set("X-Gitlab-Event-UUID", d.id)
	for k, v := range map[string]string{whsig.HeaderID: d.id, whsig.HeaderTimestamp: d.ts, whsig.HeaderSignature: d.sig} {
		if v != "" && !d.unsigned {
			req.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	rc.ServeHTTP(w, req)
	return w
}

// Signed deliveries: a valid one is queued once however often it is
// replayed inside the window (by webhook-id, even under another
// X-Gitlab-Event-UUID); a wrong signature, a signature over another
// body, a stale or future timestamp, missing headers, a replay of the
// captured delivery after the window, and an unsigned delivery (only the
// secret token) to a hook known to sign are all refused 401, each counted
// under its reason in glsync_webhook_events_rejected_total.
func TestSignedDeliveryAttacks(t *testing.T) {
	now := time.Unix(1765098000, 0)
	q := &dedupeQueue{seen: map[string]bool{}}
	m := metrics.New(func() float64 { return 0 }, nil)
	rc := NewReceiver(q, budgetSecrets{}, ReceiverOptions{Metrics: m, Now: func() time.Time { return now },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	const secret = "s3cret-for-group-7"
	body := []byte(`{"object_kind":"push","project":{"id":1}}`)
	rejected := func(reason string) float64 {
		var pb dto.Metric
		_ = m.EventsRejected.WithLabelValues(reason).Write(&pb)
		return pb.GetCounter().GetValue()
	}

	good := signFor(secret, "d-1", now, body)
	if w := good.post(rc); w.Code != http.StatusAccepted {
		t.Fatalf("valid signed delivery: %d %s", w.Code, w.Body)
	}
	if !rc.Signs(context.Background(), "group:7", rc.o.Log) {
		t.Fatal("a hook that signed is not known to sign")
	}
	// Replayed as captured, 4 minutes later, and with a fresh
	// X-Gitlab-Event-UUID: webhook-id dedupes both.
	now = now.Add(4 * time.Minute)
	if w := good.post(rc); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "duplicate") {
		t.Fatalf("replay within the window: %d %s", w.Code, w.Body)
	}
	if len(q.evs) != 1 || q.evs[0].Delivery != "d-1" {
		t.Fatalf("queued: %v", q.evs)
	}

	forged := func(mod func(*signedDelivery)) signedDelivery {
		d := signFor(secret, "d-2", now, body)
		mod(&d)
		return d
	}
	cases := []struct {
		name   string
		d      signedDelivery
		reason string
	}{
		{"wrong signature", forged(func(d *signedDelivery) { d.sig = signFor("another secret", "d-2", now, body).sig }), whsig.ReasonMismatch},
		{"signature over another body", forged(func(d *signedDelivery) { d.body = []byte(`{"object_kind":"push","project":{"id":2}}`) }), whsig.ReasonMismatch},
		{"signature for another id", forged(func(d *signedDelivery) { d.id = "d-3" }), whsig.ReasonMismatch},
		{"stale timestamp", signFor(secret, "d-4", now.Add(-5*time.Minute-time.Second), body), whsig.ReasonTimestamp},
		{"future timestamp", signFor(secret, "d-5", now.Add(5*time.Minute+time.Second), body), whsig.ReasonTimestamp},
		{"no webhook-timestamp", forged(func(d *signedDelivery) { d.ts = "" }), whsig.ReasonMissing},
		{"no webhook-id", forged(func(d *signedDelivery) { d.id = "" }), whsig.ReasonMissing},
		{"no webhook-signature", forged(func(d *signedDelivery) { d.sig = "" }), whsig.ReasonMissing},
		{"only the secret token", forged(func(d *signedDelivery) { d.unsigned, d.id = true, "d-6" }), whsig.ReasonMissing},
	}
	for _, c := range cases {
		before := rejected(c.reason)
		if w := c.d.post(rc); w.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", c.name, w.Code, w.Body)
			continue
		}
		if rejected(c.reason) != before+1 {
			t.Errorf("%s: not counted under %s", c.name, c.reason)
		}
	}
	// The captured delivery replayed after the window.
	now = now.Add(2 * time.Minute)
	before := rejected(whsig.ReasonTimestamp)
	if w := good.post(rc); w.Code != http.StatusUnauthorized || rejected(whsig.ReasonTimestamp) != before+1 {
		t.Fatalf("replay after the window: %d %s", w.Code, w.Body)
	}
	if len(q.evs) != 1 {
		t.Fatalf("a refused delivery was queued: %d events", len(q.evs))
	}
}

// A hook without a signing token keeps the X-Gitlab-Token check alone;
// once GitLab reports it signing (SetSigning), unsigned deliveries stop.
func TestUnsignedHooksKeepTheTokenCheck(t *testing.T) {
	q := &dedupeQueue{seen: map[string]bool{}}
	rc := NewReceiver(q, budgetSecrets{}, ReceiverOptions{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	d := signedDelivery{id: "u-1", token: "s3cret-for-group-7", body: []byte(`{"object_kind":"push"}`), unsigned: true}
	if w := d.post(rc); w.Code != http.StatusAccepted {
		t.Fatalf("unsigned delivery to a hook that does not sign: %d %s", w.Code, w.Body)
	}
	d.token = "wrong"
	d.id = "u-2"
	if w := d.post(rc); w.Code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", w.Code)
	}
	rc.SetSigning("group:7", true)
	d.token, d.id = "s3cret-for-group-7", "u-3"
	if w := d.post(rc); w.Code != http.StatusUnauthorized {
		t.Fatalf("unsigned delivery to a hook GitLab says signs: %d", w.Code)
	}
}

// A system hook created by hand with a signing token
// (systemHookSigningToken): its signed deliveries are verified with that
// token, and a signature with any other key is refused.
func TestHandMadeSystemHookSigningToken(t *testing.T) {
	q := &dedupeQueue{seen: map[string]bool{}}
	hand := whsig.NewToken()
	rc := NewReceiver(q, budgetSecrets{}, ReceiverOptions{SystemSecret: "system-secret-by-hand", SystemSigningToken: hand,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	post := func(token, id string) int {
		key, _ := whsig.Key(token)
		body := []byte(`{"event_name":"push"}`)
		now := time.Now()
		req := httptest.NewRequest(http.MethodPost, hooks.SystemHookPath, strings.NewReader(string(body)))
		req.Header.Set("X-Gitlab-Event", "System Hook")
		req.Header.Set("X-Gitlab-Token", "system-secret-by-hand")
		req.Header.Set(whsig.HeaderID, id)
		req.Header.Set(whsig.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(whsig.HeaderSignature, whsig.Sign(key, id, now.Unix(), body))
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, req)
		return w.Code
	}
	if code := post(hand, "s-1"); code != http.StatusAccepted {
		t.Fatalf("signed with the configured token: %d", code)
	}
	if code := post(whsig.NewToken(), "s-2"); code != http.StatusUnauthorized {
		t.Fatalf("signed with another token: %d", code)
	}
}

// A replica that does not reconcile hooks reads which hooks sign from the
// record the reconciling one keeps (SharedSigning): an unsigned delivery
// of a hook recorded as signing is refused though this replica never saw
// it sign, and the record wins over what it learned (GitLab stopped
// signing: unsigned deliveries are taken again).
func TestSharedSigningRecord(t *testing.T) {
	record := map[string]bool{"group:7": true}
	rc := NewReceiver(&dedupeQueue{seen: map[string]bool{}}, budgetSecrets{}, ReceiverOptions{Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SharedSigning: func(context.Context) (map[string]bool, error) { return record, nil }})
	d := signedDelivery{id: "r-1", token: "s3cret-for-group-7", body: []byte(`{"object_kind":"push"}`), unsigned: true}
	if w := d.post(rc); w.Code != http.StatusUnauthorized {
		t.Fatalf("unsigned delivery of a hook the record says signs: %d", w.Code)
	}
	record = map[string]bool{"group:7": false}
	rc.SetSigning("group:7", true)
	rc.SigningChanged()
	d.id = "r-2"
	if w := d.post(rc); w.Code != http.StatusAccepted {
		t.Fatalf("unsigned delivery once the record says the hook no longer signs: %d %s", w.Code, w.Body)
	}
}

// The signature is checked over the raw bytes before the body is parsed:
// a body that is not JSON with a wrong signature is refused for the
// signature (not as malformed JSON), and a correctly signed body whose
// JSON differs from another only in spacing verifies only with its own
// bytes.
func TestSignatureCheckedBeforeParsing(t *testing.T) {
	m := metrics.New(func() float64 { return 0 }, nil)
	rc := NewReceiver(&dedupeQueue{seen: map[string]bool{}}, budgetSecrets{}, ReceiverOptions{Metrics: m,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	now := time.Now()
	bad := signFor("s3cret-for-group-7", "p-1", now, []byte(`{"a":1}`))
	bad.body = []byte(`not json at all`)
	if w := bad.post(rc); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "webhook-signature") {
		t.Fatalf("non-JSON body with a wrong signature: %d %s", w.Code, w.Body)
	}
	spaced := signFor("s3cret-for-group-7", "p-2", now, []byte(`{"a": 1}`))
	spaced.body = []byte(`{"a":1}`) // the same JSON, other bytes
	if w := spaced.post(rc); w.Code != http.StatusUnauthorized {
		t.Fatalf("same JSON, other bytes: %d", w.Code)
	}
	var pb dto.Metric
	_ = m.EventsRejected.WithLabelValues("malformed_json").Write(&pb)
	if pb.GetCounter().GetValue() != 0 {
		t.Fatal("a body was parsed before its signature was checked")
	}
}
