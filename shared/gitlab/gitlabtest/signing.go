package gitlabtest

import (
	"net/http"
	"strconv"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/whsig"
)

// SigningSupport is which GitLab the hooks API emulates for signing
// tokens: one that signs (19.0+, the default), one whose
// webhook_signing_token feature flag is off (signing_token accepted and
// silently ignored; signing_token_present stays false), or one older than
// 19.0 (the parameter unknown, so ignored, and neither *_present field
// returned). glsync must notice the two last from what GitLab answers.
type SigningSupport int32

// Signing supports.
const (
	SigningOn SigningSupport = iota
	SigningFlagOff
	SigningUnsupported
)

// SetSigningSupport chooses the GitLab emulated from now on.
func (s *Server) SetSigningSupport(v SigningSupport) { s.signing.Store(int32(v)) }

func (s *Server) signingSupport() SigningSupport { return SigningSupport(s.signing.Load()) }

// signingTokenMessage is GitLab's description of the parameter's format
// (lib/api/project_hooks.rb, system_hooks.rb), which its validation error
// repeats.
const signingTokenMessage = "must be in whsec_<base64> format encoding a 32-byte key"

// refuseSigningToken answers 400 with GitLab's validation error shape
// ({"message": {"signing_token": [...]}}) when the body sets a
// signing_token GitLab would refuse, and reports whether it did. An empty
// value clears the token and is accepted.
func (s *Server) refuseSigningToken(w http.ResponseWriter, in hookInput) bool {
	v, ok := in.str("signing_token")
	if !ok || v == "" || s.signingSupport() != SigningOn || whsig.ValidGitLabToken(v) {
		return false
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"signing_token": []string{signingTokenMessage}}})
	return true
}

// applySigningToken stores the signing_token of a create or update body
// on h, unless the emulated GitLab ignores it.
func (s *Server) applySigningToken(h *Hook, in hookInput) {
	if v, ok := in.str("signing_token"); ok && s.signingSupport() == SigningOn {
		h.SigningToken = v
	}
}

// signingJSON adds GitLab 19's presence flags to a hook's JSON; the
// tokens themselves are never returned.
func (s *Server) signingJSON(h *Hook, m map[string]any) {
	if s.signingSupport() == SigningUnsupported {
		return
	}
	m["token_present"] = h.Token != ""
	m["signing_token_present"] = h.SigningToken != ""
}

// sign adds the Standard Webhooks headers to a delivery of a hook with a
// signing token: webhook-id (the Idempotency-Key), webhook-timestamp (Unix
// seconds, when sent) and webhook-signature over the exact body sent.
func (s *Server) sign(req *http.Request, h Hook, uuid string, body []byte) {
	if h.SigningToken == "" {
		return
	}
	key, err := whsig.Key(h.SigningToken)
	if err != nil {
		return // refused at creation; a hand-set bad token signs nothing
	}
	now := time.Now().Unix()
	req.Header.Set(whsig.HeaderID, uuid)
	req.Header.Set(whsig.HeaderTimestamp, strconv.FormatInt(now, 10))
	req.Header.Set(whsig.HeaderSignature, whsig.Sign(key, uuid, now, body))
}
