package crawl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"gopkg.in/yaml.v3"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// SpecFiles streams the entities declared in GitOps spec files: every file
// matching one of specPaths on branch (default: the project's default
// branch) of every selected project, each a YAML or JSON entity or list of
// entities ({identifier, title, blueprint, properties, relations, team,
// icon}). Each object carries "__project" and "__specFile". A spec file
// that cannot be used is a FileError: with WithFileErrors it is reported
// and left out, else it fails the listing.
func (s *Source) SpecFiles(ctx context.Context, specPaths []string, branch string, fn func(gitlab.Page) error) (Counts, error) {
	return s.EachProject(ctx, true, nil, func(ctx context.Context, pr map[string]any) (gitlab.Page, error) {
		id := int64(num(pr["id"]))
		ref := branch
		if ref == "" {
			ref, _ = pr["default_branch"].(string)
		}
		entries, at, err := s.Tree(ctx, id, ref)
		if err != nil {
			return gitlab.Page{}, err
		}
		var items []map[string]any
		for _, e := range entries {
			p, _ := e["path"].(string)
			if e["type"] != "blob" || !matchAny(specPaths, p) {
				continue
			}
			content, err := s.FileBytes(ctx, id, p, ref)
			if err == nil && content == nil {
				// The tree just listed it: a 404 is not proof it is gone
				// (GitLab also answers 404 for no access).
				err = &FileError{ProjectID: id, Path: p, Ref: ref, Reason: ReasonNotFound,
					Err: errors.New("in the repository tree, but GitLab answered 404 on reading it")}
			}
			var decl []map[string]any
			if err == nil {
				decl, err = SpecEntities(pr, p, ref, content)
			}
			if err != nil {
				if err := skipFile(ctx, withProject(err, pr), pr); err != nil {
					return gitlab.Page{}, err
				}
				continue
			}
			items = append(items, decl...)
		}
		return gitlab.Page{Items: items, RequestedAt: at}, nil
	}, fn)
}

// ReadSpec reads one spec file and returns its declared entities; none
// when GitLab answers 404 (the file is not there at ref). A file that
// cannot be used is a FileError.
func (s *Source) ReadSpec(ctx context.Context, pr map[string]any, filePath, ref string) ([]map[string]any, error) {
	id := int64(num(pr["id"]))
	content, err := s.FileBytes(ctx, id, filePath, ref)
	if err != nil || content == nil {
		return nil, withProject(err, pr)
	}
	return SpecEntities(pr, filePath, ref, content)
}

// SpecEntities parses the content of spec file filePath of project pr
// (read at ref): YAML (JSON is YAML too), each document an entity or a
// list of entities. A file that is not valid YAML, or declares something
// else, is a FileError.
func SpecEntities(pr map[string]any, filePath, ref string, content []byte) ([]map[string]any, error) {
	pwn, _ := pr["path_with_namespace"].(string)
	fail := func(reason string, err error) error {
		return &FileError{Project: pwn, ProjectID: int64(num(pr["id"])), Path: filePath, Ref: ref, Reason: reason, Err: err}
	}
	docs, err := yamlDocs(content)
	if err != nil {
		return nil, fail(ReasonInvalid, err)
	}
	if len(docs) == 0 {
		return nil, fail(ReasonNotEntity, errors.New("the file is empty"))
	}
	var out []map[string]any
	for _, doc := range docs {
		var list []any
		switch d := doc.(type) {
		case []any:
			list = d
		case map[string]any:
			list = []any{d}
		default:
			return nil, fail(ReasonNotEntity, fmt.Errorf("a document is a %s", yamlType(doc)))
		}
		for _, x := range list {
			m, ok := x.(map[string]any)
			if !ok {
				return nil, fail(ReasonNotEntity, fmt.Errorf("an entry of the list is a %s, not an object", yamlType(x)))
			}
			id, _ := m["identifier"].(string)
			bp, _ := m["blueprint"].(string)
			if id == "" || bp == "" {
				return nil, fail(ReasonNotEntity, errors.New("every entity needs a string identifier and blueprint"))
			}
			m["__project"] = ProjectInfo(pr)
			m["__specFile"] = filePath
			out = append(out, m)
		}
	}
	return out, nil
}

// yamlDocs decodes every YAML document of content.
func yamlDocs(content []byte) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(content))
	var docs []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, jsonable(v))
	}
}

// yamlType names a decoded value's type as people who write YAML call it.
func yamlType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// MatchSpec reports whether a path is a spec file.
func MatchSpec(specPaths []string, p string) bool { return matchAny(specPaths, p) }

func matchAny(globs []string, p string) bool {
	for _, g := range globs {
		if doublestar.MatchUnvalidated(g, p) {
			return true
		}
		// "**/port.yml" also matches a root port.yml (zero directories).
		if strings.HasPrefix(g, "**/") && doublestar.MatchUnvalidated(strings.TrimPrefix(g, "**/"), p) {
			return true
		}
	}
	return false
}
