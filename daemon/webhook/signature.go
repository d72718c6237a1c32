package webhook

import (
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

// Signs reports whether the hook of scope is known to sign.
func (rc *Receiver) Signs(scope string) bool {
	_, ok := rc.signers.Load(scope)
	return ok
}

func (rc *Receiver) now() time.Time {
	if rc.Now != nil {
		return rc.Now()
	}
	return time.Now()
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
		if rc.Signs(scope) {
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
	if scope == hooks.SystemScope && rc.SystemSigningToken != "" {
		if k, err := whsig.Key(rc.SystemSigningToken); err == nil {
			keys = append(keys, k)
		}
	}
	err := whsig.Verify(keys, r.Header.Get(whsig.HeaderID), r.Header.Get(whsig.HeaderTimestamp), r.Header.Get(whsig.HeaderSignature), body, rc.now())
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
