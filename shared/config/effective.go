package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/redact"
)

// Effective is one setting as the daemon runs with it, for an operator to
// read (the console's Settings page): the value with any secret hidden,
// and where it came from.
type Effective struct {
	// Key is the config file key.
	Key string
	// Value is the effective value; a secret is only said to be set.
	Value string
	// Source is the environment variable that set it, "file" or "default".
	Source string
	// Secret is true for tokens, passwords and keys.
	Secret bool
}

// SourceFile and SourceDefault are Effective.Source for a value from the
// config file and for one nobody set.
const (
	SourceFile    = "file"
	SourceDefault = "default"
)

// hidden is what a set secret reads as: nothing of it, not even its
// length or prefix, since an operator only needs to know it is set.
const hidden = "set (hidden)"

// settingSources says where each key's value came from: the first of its
// variables that is set, else the file when it sets the key, else the
// default. It reads the same inputs build does, so it cannot disagree
// with it about which won.
func settingSources(in *input) map[string]string {
	out := make(map[string]string, len(settings))
	for i := range settings {
		s := &settings[i]
		out[s.key] = SourceDefault
		if in.inFile(s.key) {
			out[s.key] = SourceFile
		}
		if g := in.given(s); g.env != "" {
			out[s.key] = g.env
		}
	}
	return out
}

// Effective lists every setting of the table with its effective value
// (secrets hidden) and its source, in the order of the config file's
// keys. A Config built in code, not by Load, reports every source as the
// default.
func (c *Config) Effective() []Effective {
	out := make([]Effective, 0, len(settings))
	for _, s := range settings {
		src := c.sources[s.key]
		if src == "" {
			src = SourceDefault
		}
		out = append(out, Effective{Key: s.key, Value: s.show(c), Source: src, Secret: s.secret})
	}
	return out
}

// tokenMappingValue names each token by its position and its kind
// (glpat-, gldt-…) only, with the paths it syncs: enough to tell the
// entries apart, nothing an attacker could start a guess from.
func tokenMappingValue(c *Config) string {
	var parts []string
	for i, e := range c.TokenMapping {
		parts = append(parts, fmt.Sprintf("token %d (%s): %s", i+1, tokenKind(e.Token), strings.Join(e.Patterns, ", ")))
	}
	return strings.Join(parts, "; ")
}

// tokenKind is a token's type prefix, without the characters
// redact.Token shows after it.
func tokenKind(token string) string {
	return redact.Prefix(token) + "…"
}

func secretValue(set bool) string {
	if set {
		return hidden
	}
	return "not set"
}

func duration(d time.Duration) string {
	if d == 0 {
		return "0 (off)"
	}
	return d.String()
}
