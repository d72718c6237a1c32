package config

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
	"gopkg.in/yaml.v3"
)

// tokenMappingFromNode accepts a YAML mapping of token to list of globs, or
// a string holding the JSON form.
func tokenMappingFromNode(n *yaml.Node) (tokenmap.Mapping, error) {
	const key = "tokenMapping"
	if n.Kind == yaml.ScalarNode {
		m, err := tokenmap.ParseJSON(key, []byte(n.Value))
		if err != nil {
			return nil, &Error{Setting: key, Err: stripSetting(err, key)}
		}
		return m, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, &Error{Setting: key, Err: fmt.Errorf("line %d: must be a mapping of token to a list of globs", n.Line)}
	}
	var m tokenmap.Mapping
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var patterns []string
		if v.Kind != yaml.SequenceNode {
			return nil, &Error{Setting: key, Err: fmt.Errorf("token %s: line %d: value must be a list of glob strings", tokenmap.Mask(k.Value), v.Line)}
		}
		if err := v.Decode(&patterns); err != nil {
			return nil, &Error{Setting: key, Err: fmt.Errorf("token %s: line %d: value must be a list of glob strings", tokenmap.Mask(k.Value), v.Line)}
		}
		m = append(m, tokenmap.Entry{Token: k.Value, Patterns: patterns})
	}
	if err := m.Validate(key); err != nil {
		return nil, &Error{Setting: key, Err: stripSetting(err, key)}
	}
	return m, nil
}

// nodeAsJSON turns a YAML mapping into JSON, keeping key order, or returns
// a scalar's text (the JSON-string form).
func nodeAsJSON(n *yaml.Node) ([]byte, error) {
	if n.Kind == yaml.ScalarNode {
		return []byte(n.Value), nil
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, n); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(n.Content[i].Value)
			buf.Write(k)
			buf.WriteByte(':')
			if err := writeJSON(buf, n.Content[i+1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, c); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		buf.Write(b)
	case yaml.AliasNode:
		return writeJSON(buf, n.Alias)
	default:
		return fmt.Errorf("line %d: unsupported YAML value", n.Line)
	}
	return nil
}
