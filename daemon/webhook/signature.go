package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/whsig"
)

// Signed deliveries (GitLab 19's signing tokens, Standard Webhooks). A
// hook glsync gave a signing token signs each delivery with a key derived
// from its secret (hooks.SigningToken). The signature is checked over the
// raw body before anything parses it, within whsig.Tolerance of this
// server's clock; a signed delivery is deduplicated by its webhook-id,
// which the signature covers, so a replay within the window changes
// nothing and one after it is refused. A hook known to sign (GitLab said
// signing_token_present, or it sent a valid signature) must sign: a
// delivery carrying only its X-Gitlab-Token is refused, since that token
// travels in clear and may have been captured. A hook without a signing
// token keeps the X-Gitlab-Token check alone.

// SetSigning records whether the hook of scope signs its deliveries, as
// GitLab reported it (signing_token_present) after a reconciliation.
func (rc *Receiver) SetSigning(scope string, signs bool) {
	if signs {
		rc.signers.Store(scope, true)
	} else {
		rc.signers.Delete(scope)
	}
}

// Signs reports whether the hook of scope is known to sign: as the
// replica that reconciles hooks last recorded GitLab's answer
// (SharedSigning), else as this replica learned it (SetSigning, or a valid
// signature since it started).
func (rc *Receiver) Signs(ctx context.Context, scope string, log *slog.Logger) bool {
	if signs, known := rc.sharedSigning(ctx, log)[scope]; known {
		return signs
	}
	_, ok := rc.signers.Load(scope)
	return ok
}

// SigningChanged makes the next delivery read SharedSigning's record
// again: this replica just wrote it.
func (rc *Receiver) SigningChanged() {
	rc.sharedMu.Lock()
	rc.sharedAt = time.Time{}
	rc.sharedMu.Unlock()
}

// sharedSigningMaxAge is how long the shared record of which hooks sign
// is used before it is read again: a replica that does not reconcile
// hooks learns within that that a hook signs.
const sharedSigningMaxAge = 30 * time.Second

// sharedSigning is SharedSigning's record, read at most once every
// sharedSigningMaxAge; the last one read is kept when a read fails.
func (rc *Receiver) sharedSigning(ctx context.Context, log *slog.Logger) map[string]bool {
	if rc.o.SharedSigning == nil {
		return nil
	}
	rc.sharedMu.Lock()
	defer rc.sharedMu.Unlock()
	if !rc.sharedAt.IsZero() && time.Since(rc.sharedAt) < sharedSigningMaxAge {
		return rc.shared
	}
	rc.sharedAt = time.Now()
	m, err := rc.o.SharedSigning(ctx)
	if err != nil {
		log.Error("webhook: reading which hooks sign failed; using what was read before", "error", err)
		return rc.shared
	}
	rc.shared = m
	return m
}

// signed reports whether a delivery carries any Standard Webhooks header.
func signed(r *http.Request) bool {
	return r.Header.Get(whsig.HeaderSignature) != "" || r.Header.Get(whsig.HeaderID) != "" || r.Header.Get(whsig.HeaderTimestamp) != ""
}

// checkSignature verifies a delivery's signature for the hook of scope
// over body. It returns nil for an unsigned delivery of a hook not known
// to sign, else a *whsig.Error.
func (rc *Receiver) checkSignature(r *http.Request, scope string, body []byte, log *slog.Logger) error {
	if !signed(r) {
		if rc.Signs(r.Context(), scope, log) {
			rc.warnOnce(log, scope, "webhook: delivery refused: this hook signs its deliveries (signing token) and this one carries no webhook-signature; a captured X-Gitlab-Token alone is not enough")
			return &whsig.Error{Reason: whsig.ReasonMissing, Msg: "this hook signs its deliveries; webhook-signature is missing"}
		}
		return nil
	}
	var keys [][]byte
	for _, s := range rc.secretsOf(r.Context(), scope, log) {
		if k, err := whsig.Key(hooks.SigningToken(s, scope)); err == nil {
			keys = append(keys, k)
		}
	}
	if scope == hooks.SystemScope && rc.o.SystemSigningToken != "" {
		if k, err := whsig.Key(rc.o.SystemSigningToken); err == nil {
			keys = append(keys, k)
		}
	}
	err := whsig.Verify(keys, r.Header.Get(whsig.HeaderID), r.Header.Get(whsig.HeaderTimestamp), r.Header.Get(whsig.HeaderSignature), body, rc.o.Now())
	if err != nil {
		var e *whsig.Error
		if errors.As(err, &e) {
			rc.warnOnce(log, scope, "webhook: signed delivery refused: "+e.Msg, "reason", e.Reason)
		}
		return err
	}
	rc.SetSigning(scope, true)
	return nil
}
