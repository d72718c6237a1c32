package selector

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Selector options decode themselves, as alertmanager's config types do:
// each option's value is a YAML node, read by the option's type
// (UnmarshalYAML) with Ocean's coercions and rules. Parse receives the
// selector as the mapping decoded it; valueNode turns that value back
// into the node it came from, tagged so that each scalar decodes to what
// it was (a quoted "<<" stays a key, -0.0 stays a float).

// valueNode is v, a value decoded from YAML or JSON, as a YAML node that
// decodes to v again.
func valueNode(v any) *yaml.Node {
	scalar := func(tag, value string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value} }
	switch x := v.(type) {
	case nil:
		return scalar("!!null", "null")
	case bool:
		return scalar("!!bool", strconv.FormatBool(x))
	case string:
		return scalar("!!str", x)
	case int:
		return scalar("!!int", strconv.Itoa(x))
	case float64:
		switch {
		case math.IsNaN(x):
			return scalar("!!float", ".nan")
		case math.IsInf(x, 1):
			return scalar("!!float", ".inf")
		case math.IsInf(x, -1):
			return scalar("!!float", "-.inf")
		}
		return scalar("!!float", strconv.FormatFloat(x, 'e', -1, 64)) // an exponent keeps it a float, and -0 negative
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, e := range x {
			n.Content = append(n.Content, valueNode(e))
		}
		return n
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			n.Content = append(n.Content, scalar("!!str", k), valueNode(x[k]))
		}
		return n
	case map[any]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for k, e := range x {
			n.Content = append(n.Content, valueNode(k), valueNode(e))
		}
		return n
	}
	// Other integers (uint64 beyond int's range) and Go values a caller
	// built: YAML's own encoding.
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return scalar("!!str", err.Error())
	}
	return &n
}

// reader is a type that reads a decoded value: the scalar types, and the
// option types built on them.
type reader interface{ Set(any) error }

// decode reads n into dst with dst's UnmarshalYAML. YAML decoding passes
// null over (the value stays as it was); an option that refuses null is
// handed it, so that it says so.
func decode(n *yaml.Node, dst reader) error {
	if n == nil || n.ShortTag() == "!!null" {
		return dst.Set(nil)
	}
	return n.Decode(dst)
}

// decoded is n's value, as the mapping's document decoding gives it (nil
// for no node): what a refusal shows.
func decoded(n *yaml.Node) any {
	var v any
	if n != nil {
		_ = n.Decode(&v) // a node that decodes into any type decodes into any
	}
	return v
}

// isNull reports an option left out or written as null.
func isNull(n *yaml.Node) bool { return n == nil || n.ShortTag() == "!!null" }

// loose reads n with dst's coercion where a wrong value counts as none:
// dst keeps its zero value on a refusal.
func loose[T any, P interface {
	*T
	reader
}](n *yaml.Node) T {
	var x T
	if err := decode(n, P(&x)); err != nil {
		var zero T
		return zero
	}
	return x
}

// elements are the nodes of the items of n, a list (perhaps behind an
// alias); decoding an item resolves an alias it is.
func elements(n *yaml.Node) []*yaml.Node {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n.Content
}

// object is a YAML mapping whose keys are all strings: the node of each
// value, by key, and the keys in order.
type object struct {
	fields map[string]*yaml.Node
	keys   []string
}

// asObject reads n as an object; false when n is not a mapping with
// string keys (a list, a scalar, null, a mapping with a number as a key).
func asObject(n *yaml.Node) (object, bool) {
	if _, ok := decoded(n).(map[string]any); !ok {
		return object{}, false
	}
	var fields map[string]yaml.Node
	if err := n.Decode(&fields); err != nil {
		return object{}, false
	}
	o := object{fields: make(map[string]*yaml.Node, len(fields)), keys: slices.Sorted(maps.Keys(fields))}
	for k, f := range fields {
		o.fields[k] = &f
	}
	return o, true
}

// get is the node of key, nil when the object has none.
func (o object) get(key string) *yaml.Node { return o.fields[key] }

// has reports a key set to something other than null.
func (o object) has(key string) bool { return !isNull(o.fields[key]) }

// only refuses the first key (in order) not in known; what names the
// options in the message ("files option").
func (o object) only(what string, known []string) error {
	for _, k := range o.keys {
		if !slices.Contains(known, k) {
			return &fieldError{"." + k, UnknownKey(what, k, known)}
		}
	}
	return nil
}

// fieldError is a refusal of a part of an option's value: path follows
// the option's name (".path", "[0].name"), so Parse names the whole
// field.
type fieldError struct {
	path string
	err  error
}

func (e *fieldError) Error() string { return e.path + ": " + e.err.Error() }

func (e *fieldError) Unwrap() error { return e.err }

// within puts err, a refusal of a part at path, under prefix: a
// fieldError's path is prefix followed by its own.
func within(prefix string, err error) error {
	if fe, ok := err.(*fieldError); ok {
		return &fieldError{prefix + fe.path, fe.err}
	}
	return &fieldError{prefix, err}
}

// objectList reads n as a list of objects with the given keys, each with
// read; list and item describe the value wanted ("{name, scope, query}")
// in a refusal. An unknown key is refused with the nearest known one.
func objectList(n *yaml.Node, key, list, item string, keys []string, read func(o object) error) error {
	if _, isList := decoded(n).([]any); !isList {
		return fmt.Errorf("must be a list of %s, got %s", list, Shown(decoded(n)))
	}
	for i, x := range elements(n) {
		field := "[" + strconv.Itoa(i) + "]"
		o, ok := asObject(x)
		if !ok {
			return &fieldError{field, fmt.Errorf("must be %s, got %s", item, Shown(decoded(x)))}
		}
		if err := o.only(key+" option", keys); err != nil {
			return within(field, err)
		}
		if err := read(o); err != nil {
			return within(field, err)
		}
	}
	return nil
}
