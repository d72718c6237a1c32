package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/glsync/terraform-provider-glsync/shared/redact"
	"github.com/glsync/terraform-provider-glsync/shared/suggest"
)

// fileType is the YAML document's type: a struct with one field per row
// of the settings table, tagged with its key, so that yaml.v3 refuses
// unknown keys and decodes each value as its row says (booleans as YAML
// reads them, a tokenMapping as a node) without a second list of keys.
var fileType = func() reflect.Type {
	fields := make([]reflect.StructField, len(settings))
	for i, s := range settings {
		fields[i] = reflect.StructField{Name: fieldName(s.key), Type: s.file, Tag: reflect.StructTag(`yaml:"` + s.key + `"`)}
	}
	return reflect.StructOf(fields)
}()

// fieldName is a key's field in fileType: exported, as yaml.v3 needs.
func fieldName(key string) string { return "X" + key }

// input is what build reads: the decoded file (all fields zero without
// one) and the environment.
type input struct {
	file   reflect.Value
	getenv func(string) string
}

// readFile decodes the config file (none when path is empty), refusing
// unknown keys.
func readFile(path string, getenv func(string) string) (*input, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	in := &input{file: reflect.New(fileType).Elem(), getenv: getenv}
	if path == "" {
		return in, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: reading %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(in.file.Addr().Interface()); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config: %s: %s", path, yamlReason(err))
	}
	return in, nil
}

// unknownField matches yaml's message for a key the file struct lacks:
// "line 3: field gitlabhost not found in type config.file".
var unknownField = regexp.MustCompile(`field (\S+) not found in type config\.file`)

// yamlReason keeps yaml's line-numbered message but drops quoted values,
// which could hold a token. An unknown key gets the nearest known one
// ("did you mean"), as the mapping's unknown keys do, or else the list of
// known keys. yaml names the document's type in its messages: the
// struct built from the table reads as config.file, the name it had
// when it was written by hand.
func yamlReason(err error) string {
	msg := strings.ReplaceAll(err.Error(), fileType.String(), "config.file")
	return unknownField.ReplaceAllStringFunc(msg, func(m string) string {
		key := redact.Value(unknownField.FindStringSubmatch(m)[1])
		if best, ok := suggest.Nearest(key, fileKeys()); ok {
			return fmt.Sprintf("field %s is not a known setting; did you mean %q?", key, best)
		}
		return fmt.Sprintf("field %s is not a known setting (known: %s)", key, strings.Join(fileKeys(), ", "))
	})
}

// fileKeys are the config file's keys, in the table's order.
func fileKeys() []string {
	keys := make([]string, len(settings))
	for i, s := range settings {
		keys[i] = s.key
	}
	return keys
}

// given is one setting as the environment and the file give it.
type given struct {
	key string
	// env is the first of the row's variables that is set, val its value.
	env, val string
	// file is the file's value, zero when the file does not set it.
	file   reflect.Value
	getenv func(string) string
}

// given returns row s's inputs.
func (in *input) given(s *setting) given {
	g := given{key: s.key, file: in.file.FieldByName(fieldName(s.key)), getenv: in.getenv}
	for _, e := range s.env {
		if v := in.getenv(e); v != "" {
			g.env, g.val = e, v
			break
		}
	}
	return g
}

// inFile reports whether the file sets key: a value that is not its
// type's zero (an unset pointer or node, an empty string, a 0 where 0
// means "the default").
func (in *input) inFile(key string) bool {
	return !in.file.FieldByName(fieldName(key)).IsZero()
}

// str is a string setting's value and where it came from: the variable
// ("" for the file).
func (g given) str() (string, string) {
	if g.env != "" {
		return g.val, g.env
	}
	return g.fileString(), ""
}

func (g given) fileString() string { return g.file.String() }

// node is a node-typed setting's file value (Kind 0 when not set).
func (g given) node() *yaml.Node { return g.file.Addr().Interface().(*yaml.Node) }

// boolean reads a true-or-false setting: the file's value, else def; the
// variable, when set, wins and must be one strconv.ParseBool reads.
func (g given) boolean(def bool) (bool, error) {
	v := def
	if f := g.file.Interface().(*bool); f != nil {
		v = *f
	}
	if g.env != "" {
		b, err := strconv.ParseBool(g.val)
		if err != nil {
			return false, &Error{Setting: g.key, Source: g.env, Err: fmt.Errorf("must be true or false, got %s", redact.Quote(g.val))}
		}
		v = b
	}
	return v, nil
}

// whole reads the variable as a whole number, when it is set; unit ends
// the error's "must be a whole number".
func (g given) whole(unit string) (int, bool, error) {
	if g.env == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(g.val)
	if err != nil {
		return 0, false, &Error{Setting: g.key, Source: g.env, Err: fmt.Errorf("must be a whole number%s, got %s", unit, redact.Quote(g.val))}
	}
	return n, true, nil
}

// builder is the config being built, with what the rows hand each other
// while it is: the token (gitlabToken, or the OAuth token file's) until
// the credentials are settled, an explicit private-token, and where the
// Port credentials came from.
type builder struct {
	*Config
	in              *input
	rows            []setting // the table (a field, not the variable, which holds the rows that call str)
	token, tokenSrc string
	privateToken    string
	privateTokenSet bool
	portCreds       string
}

// str is the string setting key's value and its variable ("" for the
// file), for a row whose rule reads another row's value as given.
func (b *builder) str(key string) (string, string) {
	for i := range b.rows {
		if b.rows[i].key == key {
			return b.in.given(&b.rows[i]).str()
		}
	}
	panic("config: no setting " + key)
}

// build reads every row of the table (parse, then check), then applies
// the rules about the whole configuration.
func build(in *input) (*Config, error) {
	c := &Config{sources: settingSources(in)}
	if err := run(c, in, func(*setting) bool { return true }); err != nil {
		return nil, err
	}
	if err := c.validate(in); err != nil {
		return nil, err
	}
	return c, nil
}

// run parses, then checks, the rows keep selects, in the table's order.
func run(c *Config, in *input, keep func(*setting) bool) error {
	b := &builder{Config: c, in: in, rows: settings}
	for _, step := range []func(*setting) func(*builder, given) error{
		func(s *setting) func(*builder, given) error { return s.parse },
		func(s *setting) func(*builder, given) error { return s.check },
	} {
		for i := range settings {
			s := &settings[i]
			if f := step(s); f != nil && keep(s) {
				if err := f(b, in.given(s)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// stripSetting removes a leading "setting: " from a nested error so the
// setting is not named twice.
func stripSetting(err error, setting string) error {
	msg := strings.TrimPrefix(err.Error(), setting+": ")
	return &wrapped{msg: msg, err: err}
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// where names where a setting's value came from: its environment
// variable, or the config file.
func where(setting, src string) string {
	if src != "" {
		return src
	}
	return setting + " in the config file"
}
