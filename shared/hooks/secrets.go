package hooks

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/whsig"
)

// Hook secrets. GitLab never shows a hook's secret again, so whoever sets
// it must remember it; an instance that does not (a laptop running `hooks
// apply`, a second replica, a lost data directory) would replace it and
// lock the running daemon out. With webhookSecret configured, each hook's
// secret is derived from it and the hook's scope, so every instance that
// shares the configuration computes the same one and nothing needs
// remembering; without it, secrets are random and stored, and a hook whose
// secret glsync does not hold keeps its secret unless a rotation is asked
// for.

// DeriveSecret is the secret of the hook of scope under master: the hex
// HMAC-SHA256 of the scope, keyed by master.
func DeriveSecret(master, scope string) string {
	m := hmac.New(sha256.New, []byte(master))
	m.Write([]byte("glsync hook secret v1\x00" + scope))
	return hex.EncodeToString(m.Sum(nil))
}

// Keyed are hook secrets derived from a master secret. It records which
// hooks carry the derived secret in Store (with the secret itself left
// out: the store never holds it), so a plan knows which hooks still carry
// an older one.
type Keyed struct {
	Master string
	Store  catalog.Secrets
}

// HookSecret reports the hook of scope as known when glsync set the
// derived secret on it; the secret returned is the derived one.
func (k Keyed) HookSecret(ctx context.Context, scope string) (catalog.HookSecret, bool, error) {
	h, ok, err := k.Store.HookSecret(ctx, scope)
	if err != nil || !ok || h.Secret != "" {
		return catalog.HookSecret{}, false, err
	}
	h.Secret = DeriveSecret(k.Master, scope)
	return h, true, nil
}

// PutHookSecret records that the hook of scope carries the derived
// secret.
func (k Keyed) PutHookSecret(ctx context.Context, h catalog.HookSecret) error {
	h.Secret = ""
	return k.Store.PutHookSecret(ctx, h)
}

// DeleteHookSecret forgets a hook.
func (k Keyed) DeleteHookSecret(ctx context.Context, scope string) error {
	return k.Store.DeleteHookSecret(ctx, scope)
}

// NewHookSecret is the secret to give the hook of scope.
func (k Keyed) NewHookSecret(scope string) string { return DeriveSecret(k.Master, scope) }

// secretFor is the secret to set on a hook of scope: the source's own
// when it derives them, else a random one.
func secretFor(secrets catalog.Secrets, scope string) string {
	if d, ok := secrets.(interface{ NewHookSecret(string) string }); ok {
		return d.NewHookSecret(scope)
	}
	return newSecret()
}

// SigningToken is the signing token (GitLab 19's signing_token) glsync
// gives the hook of scope whose secret is secret: derived from it, so it
// is kept wherever the secret is (sealed in the catalog, or derived from
// webhookSecret) with nothing more to store, changes when the secret is
// rotated, and every instance that can check X-Gitlab-Token can check
// webhook-signature too.
func SigningToken(secret, scope string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("glsync hook signing key v1\x00" + scope))
	return whsig.TokenFromKey(m.Sum(nil))
}

// NewSecret returns a random hook secret (256 bits, hex).
func NewSecret() string { return newSecret() }

func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}
