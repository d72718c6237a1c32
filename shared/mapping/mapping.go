// Package mapping turns raw GitLab objects into catalog entities with the
// jq mappings of Ocean's port-app-config.yml format:
//
//	resources:
//	  - kind: project
//	    selector:
//	      query: 'true'
//	    port:
//	      entity:
//	        mappings:
//	          identifier: .path_with_namespace
//	          title: .name
//	          blueprint: '"service"'
//	          properties: {url: .web_url}
//	          relations: {group: .namespace.id | tostring}
//
// Every expression is compiled once, when the mapping is loaded; an error
// names the resource, its kind, the field and the expression.
//
// The package owns the document (its top-level settings, settings.go),
// the resources' jq expressions (compile.go, eval.go) and GitOps; a
// selector's kind-specific options, the kind names and the coercions of
// Ocean's values are package selector's, which it parses them with.
package mapping

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/itchyny/gojq"
	"gopkg.in/yaml.v3"

	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

//go:embed default.yml
var defaultMapping []byte

//go:embed all-kinds.yml
var allKindsMapping []byte

// Default returns the embedded default mapping's source: group, project,
// merge-request and issue, the kinds listed per collection (a resync costs
// a few requests per 100 objects).
func Default() []byte { return append([]byte(nil), defaultMapping...) }

// AllKinds returns a mapping with every kind glsync syncs, each mapped to
// a blueprint (see the file's comments). Kinds GitLab lists only per
// project (pipeline, job, release, tag, branch, deployment, file, folder,
// project-with-members) cost a request or more per project.
func AllKinds() []byte { return append([]byte(nil), allKindsMapping...) }

// Config is a parsed, compiled port-app-config.
type Config struct {
	// Generation is the Ocean generation whose defaults apply.
	Generation Generation
	// DeleteDependentEntities and CreateMissingRelatedEntities are kept
	// for the Port sink; the embedded catalog does not need them.
	DeleteDependentEntities      bool
	CreateMissingRelatedEntities bool
	Resources                    []*Resource
	// Document is the parsed document, as registered with Port.
	Document map[string]any
	// SpecPaths are the GitOps spec file globs (specPath); empty: GitOps
	// is off. Branch is the branch they are read from (default: each
	// project's default branch).
	SpecPaths []string
	Branch    string
	// GitOpsResync is true when the mapping sets specPath itself: then
	// resyncs read spec files too. Ocean v1's default specPath
	// (**/port.yml) serves push events only, as in v1, which has no
	// GitOps resync.
	GitOpsResync bool
	// Visibility restricts every kind's group and project listings
	// (visibility, filterOwnedProjects, projectVisibilityFilter); see
	// Listing.
	selector.Visibility
	// EntityDeletionThreshold refuses a resync deleting more than this
	// share of a kind's entities (default 0.9; 0 turns deletion off, as in
	// Ocean).
	EntityDeletionThreshold float64
	// EnableMergeEntity merges written entities into Port's (default
	// true); false replaces them whole.
	EnableMergeEntity bool
	// Warnings are the options that loaded but that glsync does not act
	// on, and deprecated forms; the caller logs them.
	Warnings []string
	// Strict is ParseOptions.Strict: expression errors fail the object.
	Strict bool
	// GitOpsAnyScope is ParseOptions.GitOpsAnyScope.
	GitOpsAnyScope bool
}

// GitOpsKind is the kind of entities declared in GitOps spec files.
const GitOpsKind = selector.KindGitOps

// Resource is one entry of resources[]: a kind and how to map it.
type Resource struct {
	// Index is the position in resources[], for messages.
	Index int
	// Kind is the GitLab kind ("project", "group", ...).
	Kind string
	// Selector holds kind-specific selector options besides query.
	Selector map[string]any
	// Options are the kind-specific selector options, parsed and checked.
	Options selector.Options

	query        *expr
	itemsToParse *expr
	// itemsName is the key each item is put under (itemsToParseName);
	// itemsRemove drops the parsed array from each item's copy of the
	// object (itemsToParseTopLevelTransform).
	itemsName   string
	itemsRemove *expr
	identifier  *expr
	// identifierQuery is the identifier written as a search query.
	identifierQuery *searchQuery
	title           *expr
	blueprint       *expr
	team            *valueExpr
	icon            *expr
	properties      []namedExpr
	relations       []namedValue
	// replace marks the entities written whole (enableMergeEntity: false)
	// rather than merged into what another kind wrote (catalog.Merge).
	replace bool
	// strict fails an object on any expression error (ParseOptions.Strict).
	strict bool
	// reads are the jq sources of every expression, to tell which
	// enrichments the resource uses (see Reads).
	reads  []string
	warned func(string)
	// fingerprint identifies the resource's configuration (see
	// Fingerprint).
	fingerprint string
}

// Fingerprint is a hash of the resource as configured (its resources[]
// entry, canonical JSON, and the generation): two resources with the same
// fingerprint map the same objects to the same entities. Incremental
// resyncs key their records by it, so a changed mapping reads everything
// again.
func (r *Resource) Fingerprint() string { return r.fingerprint }

// SelectorOptions are the resource's kind and parsed selector options:
// what the crawler lists it with (crawl.Resource).
func (r *Resource) SelectorOptions() (kind string, o selector.Options) { return r.Kind, r.Options }

// ConstBlueprint returns the blueprint the resource writes when its
// expression is a string literal ('"service"'), the usual case; ok is
// false when the blueprint depends on the object.
func (r *Resource) ConstBlueprint() (name string, ok bool) {
	if r.blueprint == nil {
		return "", false
	}
	name, err := strconv.Unquote(strings.TrimSpace(r.blueprint.src))
	return name, err == nil
}

type namedExpr struct {
	name string
	*expr
}

type expr struct {
	field string // e.g. "port.entity.mappings.properties.url"
	src   string
	code  *gojq.Code
}

// Error is a mapping error tied to a resource, a field and an expression.
type Error struct {
	Resource int
	Kind     string
	Field    string
	Expr     string
	Err      error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mapping: resources[%d]", e.Resource)
	if e.Kind != "" {
		fmt.Fprintf(&b, " (kind %s)", e.Kind)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	if e.Expr != "" {
		fmt.Fprintf(&b, ": expression %q", e.Expr)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ParseOptions say how to read a mapping.
type ParseOptions struct {
	// Generation picks the defaults for options the mapping leaves out
	// (default v2).
	Generation Generation
	// GitOpsAnyScope lets GitOps spec files write any entity (Ocean's
	// behaviour, config gitopsScope: any); by default a spec file writes
	// new entities and those of its own project (catalog.FilterClaims).
	GitOpsAnyScope bool
	// Strict fails an object on any expression error, as glsync 0.x did,
	// instead of Ocean's null for the field (see tolerance.go).
	Strict bool
}

// Load reads a mapping file with v2's defaults; an empty path gives the
// embedded default.
func Load(path string) (*Config, error) { return LoadWith(path, ParseOptions{}) }

// LoadWith is Load with options.
func LoadWith(path string, o ParseOptions) (*Config, error) {
	if path == "" {
		return ParseWith(defaultMapping, o)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping: reading %s: %w", path, err)
	}
	c, err := ParseWith(data, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse parses and compiles a port-app-config document with v2's
// defaults.
func Parse(data []byte) (*Config, error) { return ParseWith(data, ParseOptions{}) }

// topLevelKeys are the keys a port-app-config may hold: Ocean core's
// PortAppConfig (also in snake_case, which it accepts), v1's and v2's
// GitlabPortAppConfig.
var topLevelKeys = []string{"resources", "deleteDependentEntities", "createMissingRelatedEntities", "enableMergeEntity", "entityDeletionThreshold",
	"delete_dependent_entities", "create_missing_related_entities", "enable_merge_entity", "entity_deletion_threshold",
	"visibility", "specPath", "branch", "filterOwnedProjects", "projectVisibilityFilter"}

// ParseWith parses and compiles a port-app-config document. Values are
// read as Ocean's pydantic models read them (see selector's scalar
// types); keys Ocean knows but glsync does not act on load with a
// warning; a key neither knows is an error that suggests the nearest
// known one.
func ParseWith(data []byte, o ParseOptions) (*Config, error) {
	gen := o.Generation
	if gen == "" {
		gen = OceanV2
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	c := &Config{Generation: gen, Document: doc, DeleteDependentEntities: true, CreateMissingRelatedEntities: true,
		EntityDeletionThreshold: 0.9, EnableMergeEntity: true, Strict: o.Strict, GitOpsAnyScope: o.GitOpsAnyScope}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(topLevelKeys, k) {
			return nil, fmt.Errorf("mapping: %w", selector.UnknownKey("setting", k, topLevelKeys))
		}
	}
	for _, f := range []struct {
		camel, snake string
		dst          *bool
	}{
		{"deleteDependentEntities", "delete_dependent_entities", &c.DeleteDependentEntities},
		{"createMissingRelatedEntities", "create_missing_related_entities", &c.CreateMissingRelatedEntities},
		{"enableMergeEntity", "enable_merge_entity", &c.EnableMergeEntity},
	} {
		for _, k := range []string{f.snake, f.camel} {
			if v, ok := doc[k]; ok && v != nil {
				b, err := selector.AsBool(v)
				if err != nil {
					return nil, fmt.Errorf("mapping: %s: %w", k, err)
				}
				*f.dst = b
			}
		}
	}
	for _, k := range []string{"entity_deletion_threshold", "entityDeletionThreshold"} {
		if v, ok := doc[k]; ok && v != nil {
			t, err := selector.AsNumber(v)
			if err == nil && (t < 0 || t > 1) {
				err = fmt.Errorf("must be from 0 to 1 (a share of a kind's entities; 0 deletes nothing), got %v", t)
			}
			if err != nil {
				return nil, fmt.Errorf("mapping: %s: %w", k, err)
			}
			c.EntityDeletionThreshold = t
		}
	}
	if err := c.parseGitLabSettings(doc); err != nil {
		return nil, err
	}
	resources, ok := doc["resources"].([]any)
	if doc["resources"] != nil && !ok {
		return nil, errors.New("mapping: resources: must be a list of {kind, selector, port}")
	}
	if len(resources) == 0 && len(c.SpecPaths) == 0 {
		return nil, errors.New("mapping: resources: at least one resource is required")
	}
	for i, x := range resources {
		m, _ := x.(map[string]any)
		if m == nil {
			return nil, &Error{Resource: i, Field: "", Err: fmt.Errorf("must be {kind, selector, port}, got %s", selector.Shown(x))}
		}
		r, err := compileResource(i, m, gen, func(msg string) {
			c.Warnings = append(c.Warnings, fmt.Sprintf("resources[%d] (kind %v): %s", i, m["kind"], msg))
		})
		if err != nil {
			return nil, err
		}
		if r != nil {
			r.replace, r.strict = !c.EnableMergeEntity, o.Strict
			c.Resources = append(c.Resources, r)
		}
	}
	return c, nil
}

// SupportedKinds are the kinds the crawler can produce today.
var SupportedKinds = selector.Kinds

var (
	resourceKeys = []string{"kind", "selector", "port"}
	portKeys     = []string{"entity", "itemsToParse", "itemsToParseName", "itemsToParseTopLevelTransform"}
	mappingKeys  = []string{"identifier", "title", "icon", "blueprint", "team", "properties", "relations"}
)

// compileResource compiles one resources[] entry; nil (no error) for a
// resource that loads but is skipped (warned).
func compileResource(i int, m map[string]any, gen Generation, warn func(string)) (*Resource, error) {
	kind, _ := m["kind"].(string)
	r := &Resource{Index: i, Kind: kind, Selector: map[string]any{}, itemsName: "item", warned: warn}
	// encoding/json (and fmt, for what JSON cannot encode) sort map
	// keys, so equal entries hash equally.
	raw, jerr := json.Marshal(m)
	if jerr != nil {
		raw = []byte(fmt.Sprint(m))
	}
	sum := sha256.Sum256(append(raw, gen...))
	r.fingerprint = hex.EncodeToString(sum[:12])
	fail := func(field, src string, err error) error {
		return &Error{Resource: i, Kind: kind, Field: field, Expr: src, Err: err}
	}
	if kind == "" {
		return nil, fail("kind", "", errors.New("is required"))
	}
	for k := range m {
		if !slices.Contains(resourceKeys, k) {
			return nil, fail(k, "", selector.UnknownKey("resource key", k, resourceKeys))
		}
	}
	if !slices.Contains(SupportedKinds, kind) {
		return nil, fail("kind", "", fmt.Errorf("unsupported kind %q; supported kinds: %s", kind, strings.Join(SupportedKinds, ", ")))
	}
	sel, _ := m["selector"].(map[string]any)
	if m["selector"] != nil && sel == nil {
		return nil, fail("selector", "", fmt.Errorf("must be a map of options, got %s", selector.Shown(m["selector"])))
	}
	query := selector.Query("true")
	if v, ok := sel["query"]; ok {
		if err := query.Set(v); err != nil {
			return nil, fail("selector.query", fmt.Sprint(v), err)
		}
	}
	maps.Copy(r.Selector, sel)
	delete(r.Selector, "query") // the mapping's own: the selector package reads the rest
	var err error
	var serr *selector.Error
	if r.Options, serr = selector.Parse(kind, gen, r.Selector, warn); serr != nil {
		return nil, fail(serr.Field, "", serr.Err)
	}
	if r.query, err = r.compile("selector.query", string(query)); err != nil {
		return nil, fail("selector.query", string(query), err)
	}
	port, _ := m["port"].(map[string]any)
	for k := range port {
		if !slices.Contains(portKeys, k) {
			return nil, fail("port."+k, "", selector.UnknownKey("port key", k, portKeys))
		}
	}
	if err := r.compileItems(port); err != nil {
		return nil, err
	}
	entity, _ := port["entity"].(map[string]any)
	for k := range entity {
		if k != "mappings" {
			return nil, fail("port.entity."+k, "", selector.UnknownKey("port.entity key", k, []string{"mappings"}))
		}
	}
	mp, _ := entity["mappings"].(map[string]any)
	const base = "port.entity.mappings."
	if mp == nil {
		return nil, fail("port.entity.mappings", "", errors.New("is required: {identifier, blueprint, title, properties, relations}"))
	}
	for k := range mp {
		if !slices.Contains(mappingKeys, k) {
			return nil, fail(base+k, "", selector.UnknownKey("mapping field", k, mappingKeys))
		}
	}
	if q, isQuery := mp["identifier"].(map[string]any); isQuery {
		// Port's "map by property": the entity updates the one entity the
		// query finds (catalog.Entity.Search).
		if r.identifierQuery, err = r.compileQuery(base+"identifier", q); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		name     string
		dst      **expr
		required string
	}{
		{"identifier", &r.identifier, "is required and must be a jq expression string"},
		{"blueprint", &r.blueprint, `is required, e.g. '"service"'`},
		{"title", &r.title, ""},
		{"icon", &r.icon, ""},
	} {
		if f.name == "identifier" && r.identifierQuery != nil {
			continue
		}
		v, ok := mp[f.name]
		if !ok || v == nil {
			if f.required != "" {
				return nil, fail(base+f.name, "", errors.New(f.required))
			}
			continue
		}
		src, err := selector.AsString(v)
		if err != nil || (src == "" && f.required != "") {
			return nil, fail(base+f.name, "", errors.New("must be a jq expression string"))
		}
		if src == "" {
			continue
		}
		if *f.dst, err = r.compile(base+f.name, src); err != nil {
			return nil, fail(base+f.name, src, err)
		}
	}
	if v, ok := mp["team"]; ok && v != nil {
		if r.team, err = r.compileValue(base+"team", v); err != nil {
			return nil, err
		}
	}
	if r.properties, err = r.compileProperties(base+"properties", mp["properties"]); err != nil {
		return nil, err
	}
	if r.relations, err = r.compileRelations(base+"relations", mp["relations"]); err != nil {
		return nil, err
	}
	return r, nil
}

// ResourcesFor returns the resources of a kind, in file order.
func (c *Config) ResourcesFor(kind string) []*Resource {
	var out []*Resource
	for _, r := range c.Resources {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// Kinds returns the distinct kinds, in file order, then the GitOps kind
// when the mapping sets specPath (see GitOpsResync): the kinds a resync
// lists.
func (c *Config) Kinds() []string {
	out := c.resourceKinds()
	if c.GitOpsResync {
		out = append(out, GitOpsKind)
	}
	return out
}

func (c *Config) resourceKinds() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range c.Resources {
		if !seen[r.Kind] {
			seen[r.Kind] = true
			out = append(out, r.Kind)
		}
	}
	return out
}
