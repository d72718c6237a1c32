// Package sealed encrypts the secrets a catalog keeps (hook secrets and
// token mappings added through the admin API) with AES-256-GCM, so a copy
// of the database (a backup, a dump) alone reveals no GitLab credential.
//
// It is the crypto alone, a leaf that imports nothing of glsync: the
// settings check a secretKey with ParseKey, and the store factory
// (shared/stores) wraps either store so that what it keeps is sealed
// with Keys.Seal and read with Keys.Open.
//
// A sealed value reads "gls1.<key id>.<base64 nonce+ciphertext>"; the key
// id (the first 4 bytes of the key's SHA-256) says which key sealed it, so
// a key can be rotated: with the new key current and the old one given as
// previous, Reseal rewrites every value under the new key. The row's name
// (hook scope, mapping name) is authenticated with it: a value copied to
// another row does not open.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
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

// Seal seals plain under the current key, bound to name (the row it is
// kept in: a hook scope, a mapping name), so it does not open in another
// row.
func (k *Keys) Seal(name string, plain []byte) (string, error) {
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

// Open returns the plaintext of v, sealed for name, and whether it was
// sealed with the current key; a value that is not sealed (written before
// sealing) is returned as it is.
func (k *Keys) Open(name, v string) ([]byte, bool, error) {
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
