// Package webhook receives GitLab's webhook and system hook deliveries.
// It checks the secret (and, for a hook with a signing token, the
// signature: signature.go), size and shape of a delivery and writes it to the
// durable queue before answering: a 202 means the event will be processed
// even if glsyncd dies the next instant. Processing happens later
// (daemon/events).
package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/glsync/terraform-provider-glsync/daemon/metrics"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/retry"
	"github.com/glsync/terraform-provider-glsync/shared/whsig"
)

// Handled are the X-Gitlab-Event values glsync queues.
var Handled = map[string]bool{
	"Push Hook": true, "Tag Push Hook": true, "Merge Request Hook": true, "Issue Hook": true,
	"Confidential Issue Hook": true, "Pipeline Hook": true, "Job Hook": true, "Release Hook": true,
	"Subgroup Hook": true, "Member Hook": true, "System Hook": true, "Project Hook": true, "Deployment Hook": true,
}

// Known are other events GitLab sends: acknowledged (so GitLab does not
// count failures and disable the hook) and counted, never queued.
var Known = map[string]bool{
	"Note Hook": true, "Confidential Note Hook": true, "Wiki Page Hook": true,
	"Feature Flag Hook": true, "Emoji Hook": true, "Resource Access Token Hook": true,
	"Milestone Hook": true, "Vulnerability Hook": true, "Group Hook": true,
}

// Receiver is the http.Handler for /integration/hook/{group_id},
// /integration/project/hook/{project_id} (personal projects), Ocean v2's
// /integration/webhook and
// /integration/system/hook. Make one with NewReceiver.
type Receiver struct {
	queue   catalog.Queue
	secrets catalog.Secrets
	o       ReceiverOptions // defaults settled by NewReceiver

	// signers are the scopes of the hooks this replica knows to sign (see
	// SetSigning).
	signers  sync.Map
	sharedMu sync.Mutex
	shared   map[string]bool
	sharedAt time.Time

	warnMu sync.Mutex
	warned map[string]*warnState // scope and message → last refusal logged
	// tally counts each hook's accepted and refused deliveries (the
	// console's overview).
	tally tally

	indexMu  sync.Mutex // one rebuild at a time; the others wait for it
	index    atomic.Pointer[secretIndex]
	indexGen atomic.Int64 // counts SecretsChanged calls
}

// ReceiverOptions tune a Receiver; a zero field takes its default.
type ReceiverOptions struct {
	// SystemSecret is the secret of a system hook created by hand.
	SystemSecret string
	// SystemSigningToken is the signing token of a system hook created by
	// hand with one (systemHookSigningToken).
	SystemSigningToken string
	// Master is webhookSecret: every hook's secret derives from it (see
	// hooks.DeriveSecret), whatever the store holds.
	Master string
	// Scopes lists the group and project hook scopes glsync manages;
	// deliveries to Ocean v2's route (/integration/webhook), which names
	// no group or project, are verified against their secrets (none
	// without it).
	Scopes func(ctx context.Context) []string
	// MaxBody bounds a delivery (default 25 MB).
	MaxBody int64
	// ObjectKey names the object a delivery is about, so the queue applies
	// events for one object in order (see catalog.Event.Object; default:
	// none).
	ObjectKey func(eventType string, body []byte) string
	// InFlight, when set, bounds the delivery bytes held in memory at
	// once: a delivery takes its size (its Content-Length, else MaxBody)
	// before its body is read, and waits up to InFlightWait (default 2 s)
	// for room; then it is answered 503 with Retry-After instead of
	// growing the process toward an out-of-memory kill.
	InFlight     *semaphore.Weighted
	InFlightWait time.Duration
	// EnqueueWait is how long a delivery waits for an unreachable queue
	// (a database restarting) before it is answered 503 (default 5 s;
	// GitLab waits 10 s for an answer). GitLab disables a hook after 4
	// failed deliveries in a row, so riding out a short outage here keeps
	// the events coming.
	EnqueueWait time.Duration
	// Notify is called after an event is queued (default: nothing).
	Notify func()
	// Metrics count deliveries received and rejected (default
	// metrics.Discard()).
	Metrics *metrics.Metrics
	// Log defaults to slog.Default().
	Log *slog.Logger

	// Now is the receiver's clock: signed deliveries' timestamps are
	// checked against it and refusal logs throttled by it (default
	// time.Now).
	Now func() time.Time
	// SharedSigning, when set, reads which hooks sign as the replica that
	// reconciles hooks recorded it (scope → signing_token_present), so
	// every replica requires signatures of the hooks that sign, not only
	// the one that reconciles.
	SharedSigning func(ctx context.Context) (map[string]bool, error)

	// WarnEvery is how often a refusal is logged per hook scope and
	// reason (default warnEvery).
	WarnEvery time.Duration

	// IndexMaxAge is how long the Ocean route's secret index (see
	// matchingScope) is used before the next delivery rebuilds it
	// (default 1 minute): a hook no longer managed stops matching by
	// then, whatever replica or command changed it.
	IndexMaxAge time.Duration
	// IndexMinAge is how old the index must be for a delivery that
	// matches no hook to rebuild it (default 5 s): a secret written
	// elsewhere (another replica, `glsyncd hooks apply`) is found within
	// that, while forged deliveries cost at most one rebuild in that time
	// however many arrive.
	IndexMinAge time.Duration
}

// NewReceiver returns a receiver that verifies deliveries against secrets
// and queues them in queue, with o's defaults settled once here, so
// nothing checks for them where deliveries are handled.
func NewReceiver(queue catalog.Queue, secrets catalog.Secrets, o ReceiverOptions) *Receiver {
	if o.MaxBody <= 0 {
		o.MaxBody = 25 << 20
	}
	if o.ObjectKey == nil {
		o.ObjectKey = func(string, []byte) string { return "" }
	}
	if o.InFlightWait <= 0 {
		o.InFlightWait = 2 * time.Second
	}
	if o.EnqueueWait <= 0 {
		o.EnqueueWait = 5 * time.Second
	}
	if o.Notify == nil {
		o.Notify = func() {}
	}
	if o.Metrics == nil {
		o.Metrics = metrics.Discard()
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.WarnEvery <= 0 {
		o.WarnEvery = warnEvery
	}
	if o.IndexMaxAge <= 0 {
		o.IndexMaxAge = time.Minute
	}
	if o.IndexMinAge <= 0 {
		o.IndexMinAge = 5 * time.Second
	}
	return &Receiver{queue: queue, secrets: secrets, o: o, warned: map[string]*warnState{}}
}

// secretIndex maps the SHA-256 of each managed group hook's secrets
// (stored and derived) to the hook's scope, so a delivery to Ocean's
// route finds its hook with one lookup instead of one store read and
// comparison per managed hook, which let anyone make every forged request
// cost as much as the hooks glsync manages. It holds digests only, never
// a secret.
type secretIndex struct {
	scopes map[[sha256.Size]byte]string
	built  time.Time
	gen    int64 // Receiver.indexGen when the build began
}

// SecretsChanged tells the receiver that hook secrets or the managed
// hooks changed (a reconciliation, the admin API): the next delivery to
// Ocean's route rebuilds the index.
func (rc *Receiver) SecretsChanged() {
	// The generation, not only the pointer: a rebuild under way may have
	// read the store before the change, and its index must not count.
	rc.indexGen.Add(1)
	rc.index.Store(nil)
}

// warnEvery bounds refusal logs: one per hook scope and reason in this
// interval, however many deliveries are refused (anyone who can reach the
// port can send them).
const warnEvery = time.Minute

// warnOnce logs msg for scope unless it was logged in the last warnEvery;
// the next line says how many were suppressed meanwhile. Scopes come from
// request paths anyone can send, so at most maxWarnKeys are remembered:
// beyond that, refusals are counted under one key per message.
func (rc *Receiver) warnOnce(log *slog.Logger, scope, msg string, args ...any) {
	rc.warnMu.Lock()
	now := rc.o.Now()
	every := rc.o.WarnEvery
	key := scope + "\x00" + msg
	st, seen := rc.warned[key]
	if !seen && len(rc.warned) >= maxWarnKeys {
		for k, v := range rc.warned {
			if now.Sub(v.last) >= every {
				delete(rc.warned, k)
			}
		}
		if len(rc.warned) >= maxWarnKeys {
			scope, key = "(many scopes)", "*\x00"+msg
			st, seen = rc.warned[key]
		}
	}
	if seen && now.Sub(st.last) < every {
		st.suppressed++
		rc.warnMu.Unlock()
		return
	}
	suppressed := 0
	if seen {
		suppressed = st.suppressed
	}
	rc.warned[key] = &warnState{last: now}
	rc.warnMu.Unlock()
	log.Warn(msg, append([]any{"scope", scope, "suppressed_since_last", suppressed, "repeats_suppressed_for", every.String()}, args...)...)
}

// warnState is when a refusal was last logged and how many like it were
// not logged since.
type warnState struct {
	last       time.Time
	suppressed int
}

// maxWarnKeys bounds the memory refusal logging may take.
const maxWarnKeys = 1024

func (rc *Receiver) reject(w http.ResponseWriter, code int, reason, msg string) {
	rc.o.Metrics.EventsRejected.WithLabelValues(reason).Inc()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func reply(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": status})
}

// ServeHTTP accepts one delivery.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := rc.o.Log
	var source, scope, secretScope string
	switch {
	case r.URL.Path == hooks.SystemHookPath:
		source, secretScope = "system", hooks.SystemScope
	case r.URL.Path == hooks.OceanWebhookPath:
		// Ocean v2's route: accepted for a hook not moved yet, when its
		// secret is one of the managed hooks'.
		source, secretScope = "group", ""
	case strings.HasPrefix(r.URL.Path, hooks.GroupHookPath):
		id, ok := pathID(r.URL.Path, hooks.GroupHookPath)
		if !ok {
			rc.reject(w, http.StatusNotFound, "bad_path", "unknown hook path")
			return
		}
		source, scope, secretScope = "group", strconv.FormatInt(id, 10), hooks.GroupScope(id)
	case strings.HasPrefix(r.URL.Path, hooks.ProjectHookPath):
		// A personal project's hook (no group hook covers the project).
		id, ok := pathID(r.URL.Path, hooks.ProjectHookPath)
		if !ok {
			rc.reject(w, http.StatusNotFound, "bad_path", "unknown hook path")
			return
		}
		source, scope, secretScope = "project", strconv.FormatInt(id, 10), hooks.ProjectScope(id)
	default:
		rc.reject(w, http.StatusNotFound, "bad_path", "unknown hook path")
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		rc.reject(w, http.StatusMethodNotAllowed, "method", "deliveries are POST requests")
		return
	}
	if secretScope == "" {
		secretScope = rc.matchingScope(r, log)
		if id, ok := strings.CutPrefix(secretScope, "group:"); ok {
			scope = id
		}
		if id, ok := strings.CutPrefix(secretScope, "project:"); ok {
			source, scope = "project", id // Ocean's personal project hook, adopted
		}
	}
	if secretScope == "" || !rc.authorized(r, secretScope, log) {
		rc.tally.add(secretScope, false)
		rc.reject(w, http.StatusUnauthorized, "bad_token", "X-Gitlab-Token is missing or wrong")
		return
	}
	maxBody := rc.o.MaxBody
	need := maxBody
	if r.ContentLength >= 0 && r.ContentLength < maxBody {
		need = r.ContentLength + 1 // +1: a body longer than announced still hits MaxBytesReader's limit
	}
	if rc.o.InFlight != nil {
		actx, cancel := context.WithTimeout(r.Context(), rc.o.InFlightWait)
		err := rc.o.InFlight.Acquire(actx, need)
		cancel()
		if err != nil {
			rc.warnOnce(log, "any", "webhook: delivery refused for now: the deliveries in memory fill webhookMaxInFlightBytes; GitLab will see 503 with Retry-After")
			w.Header().Set("Retry-After", "5")
			rc.reject(w, http.StatusServiceUnavailable, "busy", "too many large deliveries at once; try again")
			return
		}
		defer rc.o.InFlight.Release(need)
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(need, 1<<20)))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxBody))
	body := buf.Bytes()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			rc.reject(w, http.StatusRequestEntityTooLarge, "too_large", "delivery is larger than "+strconv.FormatInt(maxBody, 10)+" bytes")
			return
		}
		rc.reject(w, http.StatusBadRequest, "read_error", "could not read the body")
		return
	}
	if err := rc.checkSignature(r, secretScope, body, log); err != nil {
		reason, msg := whsig.ReasonMismatch, err.Error()
		var e *whsig.Error
		if errors.As(err, &e) {
			reason = e.Reason
		}
		rc.tally.add(secretScope, false)
		rc.reject(w, http.StatusUnauthorized, reason, msg)
		return
	}
	event := r.Header.Get("X-Gitlab-Event")
	if !json.Valid(body) || len(body) == 0 || body[0] != '{' {
		rc.reject(w, http.StatusBadRequest, "malformed_json", "body is not a JSON object")
		return
	}
	switch {
	case Handled[event]:
	case Known[event]:
		rc.tally.add(secretScope, true)
		rc.o.Metrics.EventsRejected.WithLabelValues("not_handled").Inc()
		log.Info("webhook: event type not handled; acknowledged", "event", event)
		reply(w, http.StatusOK, "ignored")
		return
	default:
		rc.warnOnce(log, "any", "webhook: unknown event type refused", "event", truncate(event, 64))
		rc.reject(w, http.StatusBadRequest, "unknown_event", "unknown X-Gitlab-Event")
		return
	}
	delivery := r.Header.Get("X-Gitlab-Event-UUID")
	if id := r.Header.Get(whsig.HeaderID); id != "" {
		// Verified above, and covered by the signature: a replay within
		// the window cannot pass for a new delivery by changing the
		// unsigned X-Gitlab-Event-UUID.
		delivery = id
	}
	if delivery == "" {
		delivery = r.Header.Get("Idempotency-Key")
	}
	ev := &catalog.Event{Delivery: delivery, Source: source, Scope: scope, Type: event, Body: body, ReceivedAt: time.Now(),
		Object: rc.o.ObjectKey(event, body)}
	dup, err := rc.enqueue(r.Context(), ev)
	if err != nil {
		log.Error("webhook: queueing failed; GitLab will see 503", "event", event, "error", err, "waited", rc.o.EnqueueWait)
		rc.reject(w, http.StatusServiceUnavailable, "queue_error", "could not queue the event; try again")
		return
	}
	rc.tally.add(secretScope, true)
	if dup {
		rc.o.Metrics.EventsRejected.WithLabelValues("duplicate").Inc()
		reply(w, http.StatusOK, "duplicate")
		return
	}
	rc.o.Metrics.EventsReceived.WithLabelValues(event).Inc()
	rc.o.Notify()
	reply(w, http.StatusAccepted, "queued")
}

// matchingScope finds the managed group hook whose secret the delivery
// carries ("" when none does), by the SHA-256 of X-Gitlab-Token in the
// secret index: a forged delivery costs one lookup however many hooks are
// managed. The caller then compares the token with that hook's secrets in
// constant time (authorized), read afresh, so a secret deleted since the
// index was built is refused at once. The map lookup's timing depends on
// the digest of what the client sent, which tells it nothing of a secret.
func (rc *Receiver) matchingScope(r *http.Request, log *slog.Logger) string {
	got := r.Header.Get("X-Gitlab-Token")
	if got == "" || rc.o.Scopes == nil {
		rc.warnOnce(log, hooks.OceanWebhookPath, "webhook: delivery to Ocean's route refused: it carries no secret of a hook glsync manages (`glsyncd hooks apply` adopts Ocean's hooks)")
		return ""
	}
	sum := sha256.Sum256([]byte(got))
	idx := rc.secretIndex(r.Context(), log, time.Time{})
	sc, ok := idx.scopes[sum]
	if !ok {
		// Perhaps a secret written since the index was built (another
		// replica, `glsyncd hooks apply`): rebuilt, at most once every
		// IndexMinAge, whatever the number of misses.
		if again := rc.secretIndex(r.Context(), log, idx.built); again != idx {
			sc, ok = again.scopes[sum]
		}
	}
	if !ok {
		rc.warnOnce(log, hooks.OceanWebhookPath, "webhook: delivery to Ocean's route refused: its X-Gitlab-Token matches no hook glsync manages")
		return ""
	}
	return sc
}

// secretIndex returns the index, built if there is none or it is older
// than IndexMaxAge. With stale set (the build time of an index that
// missed), it is rebuilt if that one is still current and older than
// IndexMinAge. Concurrent callers wait for one rebuild.
func (rc *Receiver) secretIndex(ctx context.Context, log *slog.Logger, stale time.Time) *secretIndex {
	maxAge, minAge := rc.o.IndexMaxAge, rc.o.IndexMinAge
	fresh := func(idx *secretIndex) bool {
		if idx == nil || idx.gen != rc.indexGen.Load() || time.Since(idx.built) >= maxAge {
			return false
		}
		return stale.IsZero() || !idx.built.Equal(stale) || time.Since(idx.built) < minAge
	}
	if idx := rc.index.Load(); fresh(idx) {
		return idx
	}
	rc.indexMu.Lock()
	defer rc.indexMu.Unlock()
	if idx := rc.index.Load(); fresh(idx) {
		return idx // another delivery rebuilt it meanwhile
	}
	// Detached from the delivery: a client hanging up must not leave a
	// partial index for the others.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	idx := &secretIndex{scopes: map[[sha256.Size]byte]string{}, built: time.Now(), gen: rc.indexGen.Load()}
	for _, sc := range rc.o.Scopes(ctx) {
		if !strings.HasPrefix(sc, "group:") && !strings.HasPrefix(sc, "project:") {
			continue // Ocean points group and personal project hooks there
		}
		for _, secret := range rc.secretsOf(ctx, sc, log) {
			// The first scope listed wins when hooks share a secret, as
			// when each was tried in turn.
			if sum := sha256.Sum256([]byte(secret)); idx.scopes[sum] == "" {
				idx.scopes[sum] = sc
			}
		}
	}
	rc.index.Store(idx)
	return idx
}

// secretsOf are the secrets a delivery for scope may carry.
func (rc *Receiver) secretsOf(ctx context.Context, scope string, log *slog.Logger) []string {
	var want []string
	if rc.o.Master != "" {
		want = append(want, hooks.DeriveSecret(rc.o.Master, scope))
	}
	if s, ok, err := rc.secrets.HookSecret(ctx, scope); err != nil {
		log.Error("webhook: reading hook secret failed", "scope", scope, "error", err)
	} else if ok && s.Secret != "" {
		want = append(want, s.Secret)
	}
	if scope == hooks.SystemScope && rc.o.SystemSecret != "" {
		want = append(want, rc.o.SystemSecret)
	}
	return want
}

// authorized compares X-Gitlab-Token with the hook's secret in constant
// time. A scope with no known secret accepts nothing.
func (rc *Receiver) authorized(r *http.Request, scope string, log *slog.Logger) bool {
	got := r.Header.Get("X-Gitlab-Token")
	want := rc.secretsOf(r.Context(), scope, log)
	if len(want) == 0 {
		rc.warnOnce(log, scope, "webhook: delivery refused: glsync holds no secret for this hook; set webhookSecret, or run `glsyncd hooks apply --rotate-secrets`")
		return false
	}
	ok := 0
	for _, s := range want {
		ok |= subtle.ConstantTimeCompare([]byte(got), []byte(s))
	}
	if got == "" || ok != 1 {
		reason := "webhook: delivery refused: X-Gitlab-Token does not match this hook's secret (another instance or a hand edit may have changed it; set the same webhookSecret everywhere)"
		if got == "" {
			reason = "webhook: delivery refused: no X-Gitlab-Token (a hook without a secret; `glsyncd hooks apply` adopts it)"
		}
		rc.warnOnce(log, scope, reason)
		return false
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// enqueueRetry spaces a delivery's tries on an unreachable queue: 50 ms
// doubling to 1 s, within EnqueueWait.
var enqueueRetry = retry.Policy{Base: 50 * time.Millisecond, Max: time.Second}

// enqueue queues ev, trying again while the queue is unreachable, up to
// EnqueueWait.
func (rc *Receiver) enqueue(ctx context.Context, ev *catalog.Event) (bool, error) {
	var dup bool
	p := enqueueRetry
	p.Within = rc.o.EnqueueWait
	err := p.Do(ctx, nil, func() error {
		var err error
		dup, err = rc.queue.Enqueue(ctx, ev)
		return err
	})
	return dup, err
}

// pathID reads the positive group or project id that ends a hook route
// (prefix + id); anything else under the prefix is an unknown path.
func pathID(path, prefix string) (int64, bool) {
	id, err := strconv.ParseInt(strings.TrimPrefix(path, prefix), 10, 64)
	return id, err == nil && id > 0
}
