// Package sealed encrypts the secrets a catalog keeps (hook secrets and
// token mappings added through the admin API) with AES-256-GCM, so a copy
// of the database (a backup, a dump) alone reveals no GitLab credential.
// It wraps any catalog.Backend.
//
// It is a package of its own, not part of a store: the settings check a
// secretKey with ParseKey and the store factory seals what
// either store keeps. It imports nothing of glsync but the domain types
// (shared/catalog).
//
// A sealed value reads "gls1.<key id>.<base64 nonce+ciphertext>"; the key
// id (the first 4 bytes of the key's SHA-256) says which key sealed it, so
// a key can be rotated: with the new key current and the old one given as
// previous, Reseal rewrites every value under the new key. The row's name
// (hook scope, mapping name) is authenticated with it: a value copied to
// another row does not open.
package sealed

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

const prefix = "gls1."

// ErrNoKey is returned when a secret must be sealed or opened and no key
// was given.
var ErrNoKey = errors.New("no secret key: set secretKey (GLSYNC_SECRET_KEY), the same on every replica, to keep hook secrets and token mappings in the catalog")

// Key is a 32-byte AES-256 key.
type Key struct {
	id   string
	aead cipher.AEAD
}

// ParseKey reads a key: 32 bytes in base64 (as `openssl rand -base64 32`
// prints), or a passphrase of at least 32 characters (hashed to 32 bytes).
func ParseKey(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != 32 {
		if len(s) < 32 {
			return nil, errors.New("must be 32 bytes in base64 (openssl rand -base64 32) or a passphrase of at least 32 characters")
		}
		sum := sha256.Sum256([]byte(s))
		raw = sum[:]
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	id := sha256.Sum256(raw)
	return &Key{id: hex.EncodeToString(id[:4]), aead: aead}, nil
}

// NewKey returns a new random key in the form ParseKey reads.
func NewKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Keys are the current key (sealing and opening) and previous ones
// (opening only, during a rotation).
type Keys struct {
	Current  *Key
	Previous []*Key
}

func (k *Keys) seal(name string, plain []byte) (string, error) {
	if k == nil || k.Current == nil {
		return "", ErrNoKey
	}
	nonce := make([]byte, k.Current.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := k.Current.aead.Seal(nonce, nonce, plain, []byte(name))
	return prefix + k.Current.id + "." + base64.RawStdEncoding.EncodeToString(ct), nil
}

// open returns the plaintext and whether it was sealed with the current
// key; a value that is not sealed (written before sealing) is returned as
// it is.
func (k *Keys) open(name, v string) ([]byte, bool, error) {
	rest, ok := strings.CutPrefix(v, prefix)
	if !ok {
		return []byte(v), false, nil
	}
	id, data, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, false, errors.New("malformed sealed value")
	}
	if k == nil || k.Current == nil {
		return nil, false, ErrNoKey
	}
	for i, key := range append([]*Key{k.Current}, k.Previous...) {
		if key.id != id {
			continue
		}
		ct, err := base64.RawStdEncoding.DecodeString(data)
		if err != nil || len(ct) < key.aead.NonceSize() {
			return nil, false, errors.New("malformed sealed value")
		}
		plain, err := key.aead.Open(nil, ct[:key.aead.NonceSize()], ct[key.aead.NonceSize():], []byte(name))
		if err != nil {
			return nil, false, fmt.Errorf("sealed value of %s does not open (altered, or moved from another row): %w", name, err)
		}
		return plain, i == 0, nil
	}
	return nil, false, fmt.Errorf("%s is sealed with key %s, which glsync was not given: set secretKey (GLSYNC_SECRET_KEY) to that key, or give it as GLSYNC_SECRET_KEY_PREVIOUS while rotating", name, id)
}

// Backend is a catalog.Backend whose secrets are sealed.
type Backend struct {
	catalog.Backend
	keys *Keys
}

// Wrap seals b's secrets with keys (nil keys: secrets cannot be written
// or read, everything else works).
func Wrap(b catalog.Backend, keys *Keys) *Backend { return &Backend{Backend: b, keys: keys} }

// The daemon's console reads the wrapped store through the wrapper.
var _ catalog.Browser = (*Backend)(nil)

// PutHookSecret seals the secret (an empty one, as stored with
// webhookSecret, stays empty: there is nothing to hide).
func (b *Backend) PutHookSecret(ctx context.Context, h catalog.HookSecret) error {
	if h.Secret != "" {
		s, err := b.keys.seal("hook:"+h.Scope, []byte(h.Secret))
		if err != nil {
			return fmt.Errorf("secrets: put %s: %w", h.Scope, err)
		}
		h.Secret = s
	}
	return b.Backend.PutHookSecret(ctx, h)
}

// HookSecret opens the stored secret.
func (b *Backend) HookSecret(ctx context.Context, scope string) (catalog.HookSecret, bool, error) {
	h, ok, err := b.Backend.HookSecret(ctx, scope)
	if err != nil || !ok || h.Secret == "" {
		return h, ok, err
	}
	plain, _, err := b.keys.open("hook:"+scope, h.Secret)
	if err != nil {
		return catalog.HookSecret{}, false, fmt.Errorf("secrets: get %s: %w", scope, err)
	}
	h.Secret = string(plain)
	return h, true, nil
}

// PutTokenMapping seals the mapping (it holds a token).
func (b *Backend) PutTokenMapping(ctx context.Context, name string, value []byte) error {
	s, err := b.keys.seal("mapping:"+name, value)
	if err != nil {
		return fmt.Errorf("settings: put token mapping %q: %w", name, err)
	}
	return b.Backend.PutTokenMapping(ctx, name, []byte(s))
}

// TokenMappings opens the stored mappings.
func (b *Backend) TokenMappings(ctx context.Context) ([]string, [][]byte, error) {
	names, values, err := b.Backend.TokenMappings(ctx)
	if err != nil {
		return nil, nil, err
	}
	for i, n := range names {
		plain, _, err := b.keys.open("mapping:"+n, string(values[i]))
		if err != nil {
			return nil, nil, fmt.Errorf("settings: token mapping %q: %w", n, err)
		}
		values[i] = plain
	}
	return names, values, nil
}

// Reseal rewrites every stored secret that is not sealed with the current
// key (written before sealing, or under a previous key); it returns how
// many it rewrote.
func (b *Backend) Reseal(ctx context.Context) (int, error) {
	if b.keys == nil || b.keys.Current == nil {
		return 0, nil
	}
	n := 0
	scopes, err := b.Backend.HookScopes(ctx)
	if err != nil {
		return n, err
	}
	for _, sc := range scopes {
		h, ok, err := b.Backend.HookSecret(ctx, sc)
		if err != nil || !ok || h.Secret == "" {
			if err != nil {
				return n, err
			}
			continue
		}
		plain, current, err := b.keys.open("hook:"+sc, h.Secret)
		if err != nil {
			return n, err
		}
		if !current {
			h.Secret = string(plain)
			if err := b.PutHookSecret(ctx, h); err != nil {
				return n, err
			}
			n++
		}
	}
	names, values, err := b.Backend.TokenMappings(ctx)
	if err != nil {
		return n, err
	}
	for i, name := range names {
		plain, current, err := b.keys.open("mapping:"+name, string(values[i]))
		if err != nil {
			return n, err
		}
		if !current {
			if err := b.PutTokenMapping(ctx, name, plain); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
