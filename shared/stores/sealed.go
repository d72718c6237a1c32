package stores

import (
	"context"
	"fmt"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/sealed"
)

// Sealed is a catalog.Backend whose secrets (hook secrets, token
// mappings) are sealed at rest with shared/sealed's keys: the store
// beneath keeps only sealed values, and this wrapper alone opens them.
type Sealed struct {
	catalog.Backend
	keys *sealed.Keys
}

// Seal wraps b so that its secrets are sealed with keys (nil keys:
// secrets cannot be written or read, everything else works).
func Seal(b catalog.Backend, keys *sealed.Keys) *Sealed { return &Sealed{Backend: b, keys: keys} }

// The daemon's console reads the wrapped store through the wrapper.
var _ catalog.Browser = (*Sealed)(nil)

// PutHookSecret seals the secret (an empty one, as stored with
// webhookSecret, stays empty: there is nothing to hide).
func (b *Sealed) PutHookSecret(ctx context.Context, h catalog.HookSecret) error {
	if h.Secret != "" {
		s, err := b.keys.Seal("hook:"+h.Scope, []byte(h.Secret))
		if err != nil {
			return fmt.Errorf("secrets: put %s: %w", h.Scope, err)
		}
		h.Secret = s
	}
	return b.Backend.PutHookSecret(ctx, h)
}

// HookSecret opens the stored secret.
func (b *Sealed) HookSecret(ctx context.Context, scope string) (catalog.HookSecret, bool, error) {
	h, ok, err := b.Backend.HookSecret(ctx, scope)
	if err != nil || !ok || h.Secret == "" {
		return h, ok, err
	}
	plain, _, err := b.keys.Open("hook:"+scope, h.Secret)
	if err != nil {
		return catalog.HookSecret{}, false, fmt.Errorf("secrets: get %s: %w", scope, err)
	}
	h.Secret = string(plain)
	return h, true, nil
}

// PutTokenMapping seals the mapping (it holds a token).
func (b *Sealed) PutTokenMapping(ctx context.Context, name string, value []byte) error {
	s, err := b.keys.Seal("mapping:"+name, value)
	if err != nil {
		return fmt.Errorf("settings: put token mapping %q: %w", name, err)
	}
	return b.Backend.PutTokenMapping(ctx, name, []byte(s))
}

// TokenMappings opens the stored mappings.
func (b *Sealed) TokenMappings(ctx context.Context) ([]string, [][]byte, error) {
	names, values, err := b.Backend.TokenMappings(ctx)
	if err != nil {
		return nil, nil, err
	}
	for i, n := range names {
		plain, _, err := b.keys.Open("mapping:"+n, string(values[i]))
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
func (b *Sealed) Reseal(ctx context.Context) (int, error) {
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
		plain, current, err := b.keys.Open("hook:"+sc, h.Secret)
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
		plain, current, err := b.keys.Open("mapping:"+name, string(values[i]))
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
