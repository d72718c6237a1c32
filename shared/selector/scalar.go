package selector

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Ocean parses port-app-config with pydantic v1 models, which coerce
// loosely typed values (port_ocean/core/handlers/port_app_config/models.py
// and the integrations' integration.py). A mapping that Ocean loads must
// load here too, so option values are read with the same rules, each
// carried by a scalar type:
//
//   - Bool: true/false, 1/0, and the strings 1/0, true/false, yes/no,
//     on/off, t/f, y/n in any case (pydantic.v1 bool_validator);
//   - Number: numbers, and strings holding one ("90", "0.5");
//   - Int: whole numbers, floats (truncated) and strings holding a whole
//     number;
//   - String: strings, and numbers written without quotes;
//   - Strings: a list of String, or one string as a one-element list;
//   - Query: a jq expression, or a boolean literal standing for one.
//
// Each type reads a YAML node (UnmarshalYAML, as alertmanager's config
// types validate themselves: Parse decodes every selector option so,
// the options that are lists and objects with the types of
// option_types.go built on these) or a value already decoded (Set, as
// the mapping reads its top-level settings), with the same rules and
// the same refusals.

// Bool is a boolean read the way pydantic v1 reads one.
type Bool bool

// Set reads v into b; b is unchanged when v is refused.
func (b *Bool) Set(v any) error {
	switch x := v.(type) {
	case bool:
		*b = Bool(x)
		return nil
	case int:
		if x == 0 || x == 1 {
			*b = x == 1
			return nil
		}
	case float64:
		if x == 0 || x == 1 {
			*b = x == 1
			return nil
		}
	case string:
		switch strings.ToLower(x) {
		case "1", "on", "t", "true", "y", "yes":
			*b = true
			return nil
		case "0", "off", "f", "false", "n", "no":
			*b = false
			return nil
		}
	}
	return fmt.Errorf("must be true or false, got %s", Shown(v))
}

// UnmarshalYAML reads a YAML node with Set's rules.
func (b *Bool) UnmarshalYAML(n *yaml.Node) error { return setNode(n, b.Set) }

// Number is a number read the way pydantic v1's float reads one.
type Number float64

// Set reads v into f; f is unchanged when v is refused. A bool is
// refused: pydantic accepts it (bool is an int in Python), but nobody
// means a number by it.
func (f *Number) Set(v any) error {
	n, ok := 0.0, false
	switch x := v.(type) {
	case int:
		n, ok = float64(x), true
	case float64:
		n, ok = x, true
	case string:
		p, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		n, ok = p, err == nil && !math.IsNaN(p) && !math.IsInf(p, 0)
	}
	return store(f, Number(n), ok, "a number", v)
}

// UnmarshalYAML reads a YAML node with Set's rules.
func (f *Number) UnmarshalYAML(n *yaml.Node) error { return setNode(n, f.Set) }

// Int is a whole number: an int, a float (truncated, as Python's int()
// does) or a string holding a whole number.
type Int int

// Set reads v into i; i is unchanged when v is refused.
func (i *Int) Set(v any) error {
	if s, isString := v.(string); isString {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		return store(i, Int(n), err == nil, "a whole number", v)
	}
	n, ok := 0, true
	switch x := v.(type) {
	case int:
		n = x
	case float64:
		n = int(x) // truncated
	default:
		ok = false
	}
	return store(i, Int(n), ok, "a whole number", v)
}

// UnmarshalYAML reads a YAML node with Set's rules.
func (i *Int) UnmarshalYAML(n *yaml.Node) error { return setNode(n, i.Set) }

// String is a string; numbers written without quotes are accepted.
type String string

// Set reads v into s; s is unchanged when v is refused.
func (s *String) Set(v any) error {
	str, ok := v.(string)
	if n, isInt := v.(int); isInt {
		str, ok = strconv.Itoa(n), true
	}
	if f, isFloat := v.(float64); isFloat {
		str, ok = strconv.FormatFloat(f, 'f', -1, 64), true
	}
	return store(s, String(str), ok, "a string", v)
}

// UnmarshalYAML reads a YAML node with Set's rules.
func (s *String) UnmarshalYAML(n *yaml.Node) error { return setNode(n, s.Set) }

// Strings is a list of strings. A single string is accepted as a
// one-element list (pydantic would refuse it; accepting it costs nothing
// and reads as the user meant).
type Strings []string

// Set reads v into l; l is unchanged when v is refused.
func (l *Strings) Set(v any) error {
	switch x := v.(type) {
	case string:
		*l = Strings{x}
		return nil
	case []any:
		out := make(Strings, 0, len(x))
		for i, e := range x {
			var s String
			if err := s.Set(e); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
			out = append(out, string(s))
		}
		*l = out
		return nil
	}
	return fmt.Errorf("must be a list of strings, got %s", Shown(v))
}

// UnmarshalYAML reads a YAML node with Set's rules.
func (l *Strings) UnmarshalYAML(n *yaml.Node) error { return setNode(n, l.Set) }

// Query is a selector's query: a jq expression, or a boolean written
// without quotes (query: true), which stands for the expression of the
// same text.
type Query string

// Set reads v into q; q is unchanged when v is refused.
func (q *Query) Set(v any) error {
	if b, isBool := v.(bool); isBool {
		v = strconv.FormatBool(b)
	}
	src, isString := v.(string)
	if !isString {
		return errors.New("must be a jq expression string")
	}
	*q = Query(src)
	return nil
}

// UnmarshalYAML reads a YAML node with Set's rules.
func (q *Query) UnmarshalYAML(n *yaml.Node) error { return setNode(n, q.Set) }

// store sets *dst to x when ok, else refuses v: it must be what rule
// says.
func store[T any](dst *T, x T, ok bool, rule string, v any) error {
	if !ok {
		return fmt.Errorf("must be %s, got %s", rule, Shown(v))
	}
	*dst = x
	return nil
}

// setNode decodes a node as the mapping's document decoding does (into
// any) and reads the value with set.
func setNode(n *yaml.Node, set func(any) error) error {
	var v any
	if err := n.Decode(&v); err != nil {
		return err
	}
	return set(v)
}

// Shown describes a value for an error message: short values are quoted,
// long ones only typed (a mapping value is never a secret, but a message
// should stay one line).
func Shown(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			return fmt.Sprintf("a %d-character string", len(x))
		}
		return strconv.Quote(x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprint(v)
}

// AsBool, AsNumber, AsInt, AsString and AsStrings read a decoded value
// with the rules of Bool, Number, Int, String and Strings, for callers
// that walk a decoded document (the mapping's top-level settings).
func AsBool(v any) (bool, error) { var x Bool; err := x.Set(v); return bool(x), err }

// AsNumber: see AsBool.
func AsNumber(v any) (float64, error) { var x Number; err := x.Set(v); return float64(x), err }

// AsInt: see AsBool.
func AsInt(v any) (int, error) { var x Int; err := x.Set(v); return int(x), err }

// AsString: see AsBool.
func AsString(v any) (string, error) { var x String; err := x.Set(v); return string(x), err }

// AsStrings: see AsBool.
func AsStrings(v any) ([]string, error) { var x Strings; err := x.Set(v); return []string(x), err }
