// Package whsig signs and verifies webhook deliveries the Standard
// Webhooks way, which GitLab 19 follows for a hook with a signing token:
// webhook-signature carries "v1,<base64 HMAC-SHA256(key, id.ts.body)>"
// entries, where the key is the base64 after "whsec_". The simulator signs
// with it, glsyncd verifies with it and creates hooks with its tokens, so
// the three cannot drift apart.
package whsig

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names GitLab sends with a signed delivery.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Prefix starts every signing token.
const Prefix = "whsec_"

// KeySize is the key length GitLab requires of a signing token.
const KeySize = 32

// Tolerance is how far webhook-timestamp may be from the receiver's clock
// (Standard Webhooks' convention; GitLab states none): a captured delivery
// replayed later than this is refused, and within it the webhook-id
// dedupe of the queue makes a replay a no-op.
const Tolerance = 5 * time.Minute

// NewToken returns a random signing token in GitLab's format.
func NewToken() string {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return TokenFromKey(b)
}

// TokenFromKey formats key as a signing token.
func TokenFromKey(key []byte) string { return Prefix + base64.StdEncoding.EncodeToString(key) }

// Key decodes a signing token (with or without "whsec_", as the reference
// libraries accept) into its HMAC key.
func Key(token string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(token, Prefix))
	if err != nil || len(k) == 0 {
		return nil, errors.New("signing token is not whsec_ followed by base64")
	}
	return k, nil
}

// ValidGitLabToken reports whether GitLab accepts token as a hook's
// signing_token: "whsec_" and the base64 of exactly 32 bytes.
func ValidGitLabToken(token string) bool {
	if !strings.HasPrefix(token, Prefix) {
		return false
	}
	k, err := base64.StdEncoding.Strict().DecodeString(token[len(Prefix):])
	return err == nil && len(k) == KeySize
}

// Sign is the webhook-signature entry for one delivery: "v1," and the
// base64 HMAC-SHA256 of "{id}.{timestamp}.{body}".
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, id, strconv.FormatInt(timestamp, 10), body))
}

func mac(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Refusal reasons, which are also the labels of the refusal metric.
const (
	ReasonMissing   = "signature_missing"
	ReasonTimestamp = "signature_stale"
	ReasonMismatch  = "signature_mismatch"
)

// Error is why a delivery's signature was refused.
type Error struct {
	Reason string // one of the Reason constants
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Verify checks a delivery's headers against keys (any may match, for a
// rotation) over the raw body, in constant time per key, and that its
// timestamp is within Tolerance of now. It returns an *Error.
func Verify(keys [][]byte, id, timestamp, signature string, body []byte, now time.Time) error {
	if id == "" || timestamp == "" || signature == "" {
		return &Error{ReasonMissing, "webhook-id, webhook-timestamp or webhook-signature is missing"}
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return &Error{ReasonTimestamp, "webhook-timestamp is not Unix seconds"}
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
		return &Error{ReasonTimestamp, fmt.Sprintf("webhook-timestamp is more than %s from this server's clock", Tolerance)}
	}
	ok := false
	for _, key := range keys {
		want := mac(key, id, timestamp, body)
		for _, entry := range strings.Fields(signature) {
			v, sig, found := strings.Cut(entry, ",")
			if !found || v != "v1" {
				continue
			}
			got, err := base64.StdEncoding.Strict().DecodeString(sig) // canonical only: one spelling per signature
			if err != nil {
				continue
			}
			if hmac.Equal(got, want) {
				ok = true // no early return: every entry costs the same
			}
		}
	}
	if !ok {
		return &Error{ReasonMismatch, "webhook-signature does not match the hook's signing token"}
	}
	return nil
}
