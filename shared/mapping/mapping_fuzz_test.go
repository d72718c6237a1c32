package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// The port-app-config files the repository ships: glsync's default and
// all-kinds mappings and Ocean's own defaults (ocean/SOURCE.md), each
// with the generation it is written for.
var realMappings = []struct {
	file string
	gen  Generation
}{
	{"default.yml", OceanV2},
	{"all-kinds.yml", OceanV2},
	{"ocean/v1-port-app-config.yaml", OceanV1},
	{"ocean/v2-port-app-config.yml", OceanV2},
}

// maxFuzzInput bounds an input: a mapping or an object larger than this
// is skipped, so every input is fast.
const maxFuzzInput = 64 << 10

// slowInput is how long one input may take (the machine is shared and
// fuzz workers run in parallel, hence the margin).
const slowInput = 10 * time.Second

func readSeed(f *testing.F, name string) []byte {
	f.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzParse loads port-app-config documents, seeded with the real
// mapping files under both Ocean generations. ParseWith must not panic
// and must take bounded time; what it accepts must be consistent: known
// kinds only, every resource with an identifier and a blueprint, settings
// within their documented ranges.
func FuzzParse(f *testing.F) {
	for _, m := range realMappings {
		data := readSeed(f, m.file)
		f.Add(data, false)
		f.Add(data, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, v1 bool) {
		if len(data) > maxFuzzInput {
			t.Skip("input larger than 64 KB")
		}
		gen := OceanV2
		if v1 {
			gen = OceanV1
		}
		start := time.Now()
		c, err := ParseWith(data, ParseOptions{Generation: gen})
		if d := time.Since(start); d > slowInput {
			t.Fatalf("ParseWith took %v", d)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			var me *Error
			if errors.As(err, &me) && me.Err == nil {
				t.Fatalf("mapping.Error without a cause: %v", err)
			}
			return
		}
		if c.Generation != gen {
			t.Fatalf("generation %q, want %q", c.Generation, gen)
		}
		// Resources glsync cannot honour yet (a search-query identifier) are
		// skipped with a warning, as issue #10 asks: never silently.
		if len(c.Resources) == 0 && len(c.SpecPaths) == 0 && len(c.Warnings) == 0 {
			t.Fatal("accepted a mapping with no resource, no specPath and no warning")
		}
		if c.EntityDeletionThreshold < 0 || c.EntityDeletionThreshold > 1 {
			t.Fatalf("entityDeletionThreshold %v accepted", c.EntityDeletionThreshold)
		}
		if !slices.Contains([]int{0, 10, 20, 30, 40, 50}, c.MinAccessLevel) {
			t.Fatalf("minAccessLevel %d accepted", c.MinAccessLevel)
		}
		if !slices.Contains([]string{"", "public", "internal", "private"}, c.ProjectVisibility) {
			t.Fatalf("projectVisibilityFilter %q accepted", c.ProjectVisibility)
		}
		for _, sp := range c.SpecPaths {
			if sp == "" || !doublestar.ValidatePattern(sp) {
				t.Fatalf("specPath %q accepted", sp)
			}
		}
		for _, k := range c.Kinds() {
			if k != GitOpsKind && !slices.Contains(SupportedKinds, k) {
				t.Fatalf("kind %q accepted", k)
			}
			if k != GitOpsKind && len(c.ResourcesFor(k)) == 0 {
				t.Fatalf("kind %q listed without a resource", k)
			}
		}
		for i, r := range c.Resources {
			if r == nil || r.identifier == nil || r.blueprint == nil || r.query == nil {
				t.Fatalf("resource %d compiled without identifier, blueprint or query", i)
			}
			if r.Options.LimitPerProject < 0 || r.Options.UpdatedAfterDays < 0 || r.Options.CreatedAfterDays < 0 {
				t.Fatalf("resource %d: negative option accepted: %+v", i, r.Options)
			}
			if r.Kind == "file" && !doublestar.ValidatePattern(r.Options.Files.Path) {
				t.Fatalf("resource %d: files.path %q accepted", i, r.Options.Files.Path)
			}
			r.StaticBlueprint()
			r.PropertyNames()
			r.RelationNames()
			r.Reads("__languages")
		}
	})
}

// fuzzConfigs are the real mappings, loaded once per process.
var fuzzConfigs = sync.OnceValues(func() ([]*Config, error) {
	var out []*Config
	for _, m := range realMappings {
		data, err := os.ReadFile(m.file)
		if err != nil {
			return nil, err
		}
		c, err := ParseWith(data, ParseOptions{Generation: m.gen})
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
})

// realObjects are the GitLab objects and payloads the repository holds:
// the project and group GitLab serves (testdata), Ocean's skill and
// plugin examples, and GitLab's webhook and system hook payloads.
func realObjects(f *testing.F) [][]byte {
	f.Helper()
	var names []string
	for _, glob := range []string{
		"testdata/*.json",
		"../../daemon/cmd/glsyncd/testdata/*.json",
		"../../daemon/cmd/glsyncd/testdata/ocean-examples/*.json",
		"../gitlab/gitlabtest/payloads/*/*.json",
	} {
		m, err := filepath.Glob(glob)
		if err != nil {
			f.Fatal(err)
		}
		names = append(names, m...)
	}
	if len(names) == 0 {
		f.Fatal("no object fixtures found")
	}
	var out [][]byte
	for _, n := range names {
		out = append(out, readSeed(f, n))
	}
	return out
}

// hostile variants of a real object: every scalar replaced by an
// extreme number, by a value of another type, and the object buried
// under deep nesting.
func hostileVariants(f *testing.F, data []byte) [][]byte {
	f.Helper()
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		f.Fatal(err)
	}
	var swap func(v any, how int) any
	swap = func(v any, how int) any {
		switch x := v.(type) {
		case map[string]any:
			m := make(map[string]any, len(x))
			for k, e := range x {
				m[k] = swap(e, how)
			}
			return m
		case []any:
			s := make([]any, len(x))
			for i, e := range x {
				s[i] = swap(e, how)
			}
			return s
		}
		if how == 0 {
			return []any{1.7976931348623157e308, -1.7976931348623157e308, 5e-324, 9007199254740993.0}
		}
		switch v.(type) {
		case string:
			return 1e300
		case float64:
			return map[string]any{"id": v}
		case bool:
			return "true"
		}
		return []any{nil}
	}
	// The object under 300 levels of "namespace", and a 300 levels deep
	// "__members" list.
	deep := any(obj)
	var members any = []any{map[string]any{"username": "alice", "access_level": 50.0}}
	for range 300 {
		deep = map[string]any{"namespace": deep}
		members = []any{members}
	}
	deep.(map[string]any)["__members"] = members
	var out [][]byte
	for _, v := range []any{swap(obj, 0), swap(obj, 1), deep} {
		b, err := json.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzMapObject maps hostile objects with the real mappings: every
// resource of every real mapping maps the object (MapAll) and identifies
// it (Identify). It must not panic and must take bounded time; an entity
// produced has a non-empty identifier and blueprint, the mapping's
// properties, relations of the allowed types, encodes as JSON, and for
// resources without itemsToParse carries the key Identify computes.
func FuzzMapObject(f *testing.F) {
	objs := realObjects(f)
	for _, b := range objs {
		f.Add(b)
	}
	for _, n := range []string{"testdata/project.json", "testdata/group.json"} {
		for _, b := range hostileVariants(f, readSeed(f, n)) {
			f.Add(b)
		}
	}
	configs, err := fuzzConfigs()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			t.Skip("input larger than 64 KB")
		}
		// Objects come from GitLab's JSON, decoded as the client does.
		var probe map[string]any
		if json.Unmarshal(data, &probe) != nil || probe == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), slowInput)
		defer cancel()
		for _, c := range configs {
			for _, r := range c.Resources {
				var obj map[string]any
				if err := json.Unmarshal(data, &obj); err != nil {
					t.Fatal(err)
				}
				mapOne(ctx, t, r, obj)
				if ctx.Err() != nil {
					t.Fatalf("mapping one object took more than %v", slowInput)
				}
			}
		}
	})
}

func mapOne(ctx context.Context, t *testing.T, r *Resource, obj map[string]any) {
	t.Helper()
	key, idErr := r.Identify(ctx, obj)
	// Tolerant mapping leaves out an object whose identifier or
	// blueprint fails, with a failure rather than an error.
	var rec failures
	ents, selected, err := r.MapAll(WithRecorder(ctx, &rec), obj)
	if err != nil {
		var me *Error
		if !errors.As(err, &me) {
			t.Fatalf("resources[%d] (%s): error %T is not a *mapping.Error: %v", r.Index, r.Kind, err, err)
		}
		return
	}
	if !selected && len(ents) > 0 {
		t.Fatalf("resources[%d] (%s): entities from an unselected object", r.Index, r.Kind)
	}
	props := r.PropertyNames()
	for _, e := range ents {
		checkEntity(t, r, e, props)
	}
	if r.itemsToParse == nil && selected {
		if len(ents) == 0 && rec.skipped() {
			if idErr == nil && rec.list[0].ShortField() == "identifier" {
				t.Fatalf("resources[%d] (%s): left out for its identifier, which Identify computes: %v", r.Index, r.Kind, rec.list[0])
			}
			return
		}
		if len(ents) != 1 {
			t.Fatalf("resources[%d] (%s): %d entities without itemsToParse", r.Index, r.Kind, len(ents))
		}
		if idErr != nil {
			t.Fatalf("resources[%d] (%s): mapped to %s/%s but Identify fails: %v", r.Index, r.Kind, ents[0].Blueprint, ents[0].Identifier, idErr)
		}
		if key != (catalog.Key{Blueprint: ents[0].Blueprint, Identifier: ents[0].Identifier}) {
			t.Fatalf("resources[%d] (%s): Identify %v, entity %s/%s", r.Index, r.Kind, key, ents[0].Blueprint, ents[0].Identifier)
		}
	}
}

func checkEntity(t *testing.T, r *Resource, e *catalog.Entity, props []string) {
	t.Helper()
	if e == nil || e.Identifier == "" || e.Blueprint == "" {
		t.Fatalf("resources[%d] (%s): entity without identifier or blueprint: %+v", r.Index, r.Kind, e)
	}
	if len(e.Properties) != len(props) {
		t.Fatalf("resources[%d] (%s): %d properties, the mapping has %d", r.Index, r.Kind, len(e.Properties), len(props))
	}
	for _, p := range props {
		if _, ok := e.Properties[p]; !ok {
			t.Fatalf("resources[%d] (%s): property %q missing", r.Index, r.Kind, p)
		}
	}
	for name, v := range e.Relations {
		switch v.(type) {
		case nil, string, []any, map[string]any:
		default:
			t.Fatalf("resources[%d] (%s): relation %q is a %T", r.Index, r.Kind, name, v)
		}
	}
	if _, err := json.Marshal(e); err != nil {
		t.Fatalf("resources[%d] (%s): entity does not encode as JSON: %v", r.Index, r.Kind, err)
	}
}
