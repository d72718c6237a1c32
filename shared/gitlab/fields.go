package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// Listings whose caller needs a few fields of each object.
//
// A project as GitLab lists it is about a hundred fields (namespace,
// links, permissions, settings): decoded as Go maps, about 4 KB. A
// listing that only needs to know which projects exist and when they were
// last active (the per-project kinds' shared listing) would hold pages of
// these while its consumer works. Under WithFields, listings decode only
// the named top-level fields of each object; the rest is skipped without
// being decoded.

type fieldsKey struct{}

// WithFields returns a context under which listings keep only the named
// top-level fields of each object. An object without a field has no key
// for it, as when GitLab leaves it out.
func WithFields(ctx context.Context, fields ...string) context.Context {
	keep := make(map[string]bool, len(fields))
	for _, f := range fields {
		keep[f] = true
	}
	return context.WithValue(ctx, fieldsKey{}, keep)
}

// projection decodes a JSON array of objects keeping only some fields.
type projection struct {
	keep  map[string]bool
	items *[]map[string]any
}

// UnmarshalJSON implements json.Unmarshaler: each object is read as raw
// fields, and only the kept ones are decoded.
func (p *projection) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		*p.items = nil
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil {
		return fmt.Errorf("gitlab: decoding a listing's page: %w", err)
	} else if tok != json.Delim('[') {
		return fmt.Errorf("gitlab: a listing's page is not a JSON array (starts with %v)", tok)
	}
	out := make([]map[string]any, 0, 100)
	for dec.More() {
		var obj map[string]json.RawMessage
		if err := dec.Decode(&obj); err != nil {
			return fmt.Errorf("gitlab: decoding a listing's object: %w", err)
		}
		m := make(map[string]any, len(p.keep))
		for k, v := range obj {
			if !p.keep[k] {
				continue
			}
			var val any
			if err := json.Unmarshal(v, &val); err != nil {
				return fmt.Errorf("gitlab: decoding field %q of a listing's object: %w", k, err)
			}
			m[k] = val
		}
		out = append(out, m)
	}
	*p.items = out
	return nil
}
