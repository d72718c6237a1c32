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
package mapping

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/itchyny/gojq"
	"gopkg.in/yaml.v3"
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
	// MinAccessLevel restricts group and project listings to those where
	// the token has at least this role (visibility.useMinAccessLevel).
	MinAccessLevel int
	// EntityDeletionThreshold refuses a resync deleting more than this
	// share of a kind's entities (default 0.9).
	EntityDeletionThreshold float64
	// EnableMergeEntity merges written entities into Port's (default
	// true); false replaces them whole.
	EnableMergeEntity bool
}

// GitOpsKind is the kind of entities declared in GitOps spec files.
const GitOpsKind = "gitops"

// Resource is one entry of resources[]: a kind and how to map it.
type Resource struct {
	// Index is the position in resources[], for messages.
	Index int
	// Kind is the GitLab kind ("project", "group", ...).
	Kind string
	// Selector holds kind-specific selector options besides query.
	Selector map[string]any
	// Options are the kind-specific selector options, parsed and checked.
	Options Selector

	query        *expr
	itemsToParse *expr
	identifier   *expr
	title        *expr
	blueprint    *expr
	team         *expr
	icon         *expr
	properties   []namedExpr
	relations    []namedExpr
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

type rawConfig struct {
	DeleteDependentEntities      *bool    `yaml:"deleteDependentEntities"`
	CreateMissingRelatedEntities *bool    `yaml:"createMissingRelatedEntities"`
	EnableMergeEntity            *bool    `yaml:"enableMergeEntity"`
	EntityDeletionThreshold      *float64 `yaml:"entityDeletionThreshold"`
	SpecPath                     any      `yaml:"specPath"`
	Visibility                   *struct {
		UseMinAccessLevel bool `yaml:"useMinAccessLevel"`
		MinAccessLevel    int  `yaml:"minAccessLevel"`
	} `yaml:"visibility"`
	Branch    string        `yaml:"branch"`
	Resources []rawResource `yaml:"resources"`
}

type rawResource struct {
	Kind     string         `yaml:"kind"`
	Selector map[string]any `yaml:"selector"`
	Port     struct {
		ItemsToParse string `yaml:"itemsToParse"`
		Entity       struct {
			Mappings struct {
				Identifier yaml.Node            `yaml:"identifier"`
				Title      string               `yaml:"title"`
				Blueprint  string               `yaml:"blueprint"`
				Team       string               `yaml:"team"`
				Icon       string               `yaml:"icon"`
				Properties map[string]yaml.Node `yaml:"properties"`
				Relations  map[string]yaml.Node `yaml:"relations"`
			} `yaml:"mappings"`
		} `yaml:"entity"`
	} `yaml:"port"`
}

// Load reads a mapping file; an empty path gives the embedded default.
func Load(path string) (*Config, error) {
	if path == "" {
		return Parse(defaultMapping)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping: reading %s: %w", path, err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse parses and compiles a port-app-config document.
func Parse(data []byte) (*Config, error) {
	var raw rawConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	if len(raw.Resources) == 0 && raw.SpecPath == nil {
		return nil, errors.New("mapping: resources: at least one resource is required")
	}
	c := &Config{DeleteDependentEntities: true, CreateMissingRelatedEntities: true, EntityDeletionThreshold: 0.9, EnableMergeEntity: true}
	if err := yaml.Unmarshal(data, &c.Document); err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	if raw.DeleteDependentEntities != nil {
		c.DeleteDependentEntities = *raw.DeleteDependentEntities
	}
	if raw.CreateMissingRelatedEntities != nil {
		c.CreateMissingRelatedEntities = *raw.CreateMissingRelatedEntities
	}
	if raw.EnableMergeEntity != nil {
		c.EnableMergeEntity = *raw.EnableMergeEntity
	}
	if raw.EntityDeletionThreshold != nil {
		if *raw.EntityDeletionThreshold <= 0 || *raw.EntityDeletionThreshold > 1 {
			return nil, fmt.Errorf("mapping: entityDeletionThreshold: must be more than 0 and at most 1, got %v", *raw.EntityDeletionThreshold)
		}
		c.EntityDeletionThreshold = *raw.EntityDeletionThreshold
	}
	switch sp := raw.SpecPath.(type) {
	case nil:
	case string:
		c.SpecPaths = []string{sp}
	case []any:
		for _, x := range sp {
			str, _ := x.(string)
			c.SpecPaths = append(c.SpecPaths, str)
		}
	default:
		return nil, fmt.Errorf("mapping: specPath: must be a glob or a list of globs, got %v", sp)
	}
	for _, sp := range c.SpecPaths {
		if sp == "" || !doublestar.ValidatePattern(sp) {
			return nil, fmt.Errorf("mapping: specPath: %q is not a valid glob", sp)
		}
	}
	c.Branch = raw.Branch
	if v := raw.Visibility; v != nil && v.UseMinAccessLevel {
		switch v.MinAccessLevel {
		case 10, 20, 30, 40, 50:
			c.MinAccessLevel = v.MinAccessLevel
		case 0:
			c.MinAccessLevel = 30 // GitLab's Developer, the integration's default
		default:
			return nil, fmt.Errorf("mapping: visibility.minAccessLevel: must be 10 (guest), 20 (reporter), 30 (developer), 40 (maintainer) or 50 (owner), got %d", v.MinAccessLevel)
		}
	}
	for i, rr := range raw.Resources {
		r, err := compileResource(i, rr)
		if err != nil {
			return nil, err
		}
		c.Resources = append(c.Resources, r)
	}
	return c, nil
}

// SupportedKinds are the kinds the crawler can produce today.
var SupportedKinds = []string{"group", "project", "merge-request", "issue", "pipeline", "job", "release", "tag", "branch", "deployment",
	"group-with-members", "project-with-members", "member", "file", "folder"}

func compileResource(i int, rr rawResource) (*Resource, error) {
	r := &Resource{Index: i, Kind: rr.Kind, Selector: map[string]any{}}
	fail := func(field, src string, err error) error {
		return &Error{Resource: i, Kind: rr.Kind, Field: field, Expr: src, Err: err}
	}
	if rr.Kind == "" {
		return nil, fail("kind", "", errors.New("is required"))
	}
	if !isSupported(rr.Kind) {
		return nil, fail("kind", "", fmt.Errorf("unsupported kind %q; supported kinds: %s", rr.Kind, strings.Join(SupportedKinds, ", ")))
	}
	if rr.Port.ItemsToParse != "" {
		e, err := compile("port.itemsToParse", rr.Port.ItemsToParse)
		if err != nil {
			return nil, fail("port.itemsToParse", rr.Port.ItemsToParse, err)
		}
		r.itemsToParse = e
	}
	query := "true"
	for k, v := range rr.Selector {
		if k == "query" {
			s, ok := v.(string)
			if !ok {
				if b, isBool := v.(bool); isBool {
					s = fmt.Sprint(b)
				} else {
					return nil, fail("selector.query", fmt.Sprint(v), errors.New("must be a jq expression string"))
				}
			}
			query = s
			continue
		}
		r.Selector[k] = v
	}
	if err := r.parseSelector(); err != nil {
		return nil, fail(err.field, "", err.err)
	}
	var err error
	if r.query, err = compile("selector.query", query); err != nil {
		return nil, fail("selector.query", query, err)
	}
	m := rr.Port.Entity.Mappings
	const base = "port.entity.mappings."
	if m.Identifier.Kind != yaml.ScalarNode || m.Identifier.Value == "" {
		return nil, fail(base+"identifier", "", errors.New("is required and must be a jq expression string"))
	}
	if m.Blueprint == "" {
		return nil, fail(base+"blueprint", "", errors.New(`is required, e.g. '"service"'`))
	}
	for _, f := range []struct {
		name string
		src  string
		dst  **expr
	}{
		{"identifier", m.Identifier.Value, &r.identifier},
		{"title", m.Title, &r.title},
		{"blueprint", m.Blueprint, &r.blueprint},
		{"team", m.Team, &r.team},
		{"icon", m.Icon, &r.icon},
	} {
		if f.src == "" {
			continue
		}
		if *f.dst, err = compile(base+f.name, f.src); err != nil {
			return nil, fail(base+f.name, f.src, err)
		}
	}
	compileMap := func(kind string, in map[string]yaml.Node) ([]namedExpr, error) {
		names := make([]string, 0, len(in))
		for k := range in {
			names = append(names, k)
		}
		sort.Strings(names)
		var out []namedExpr
		for _, k := range names {
			n := in[k]
			field := base + kind + "." + k
			if n.Kind != yaml.ScalarNode {
				return nil, fail(field, "", errors.New("must be a jq expression string"))
			}
			e, err := compile(field, n.Value)
			if err != nil {
				return nil, fail(field, n.Value, err)
			}
			out = append(out, namedExpr{k, e})
		}
		return out, nil
	}
	if r.properties, err = compileMap("properties", m.Properties); err != nil {
		return nil, err
	}
	if r.relations, err = compileMap("relations", m.Relations); err != nil {
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
// when specPath is set.
func (c *Config) Kinds() []string {
	out := c.resourceKinds()
	if len(c.SpecPaths) > 0 {
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
