package crawl

import (
	"context"
	"fmt"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// SpecFiles streams the entities declared in GitOps spec files: every file
// matching one of specPaths on branch (default: the project's default
// branch) of every selected project, each a YAML or JSON entity or list of
// entities ({identifier, title, blueprint, properties, relations, team,
// icon}). Each object carries "__project" and "__specFile".
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
			decl, err := s.ReadSpec(ctx, pr, p, ref)
			if err != nil {
				return gitlab.Page{}, err
			}
			items = append(items, decl...)
		}
		return gitlab.Page{Items: items, RequestedAt: at}, nil
	}, fn)
}

// ReadSpec reads one spec file and returns its declared entities.
func (s *Source) ReadSpec(ctx context.Context, pr map[string]any, filePath, ref string) ([]map[string]any, error) {
	id := int64(num(pr["id"]))
	content, err := s.FileBytes(ctx, id, filePath, ref)
	if err != nil || content == nil {
		return nil, err
	}
	var out []map[string]any
	for _, doc := range parseContent(strings.TrimSuffix(filePath, ".json")+".yaml", content) {
		var list []any
		switch d := doc.(type) {
		case []any:
			list = d
		case map[string]any:
			list = []any{d}
		default:
			return nil, fmt.Errorf("crawl: spec file %s in %v: want an entity or a list of entities", filePath, pr["path_with_namespace"])
		}
		for _, x := range list {
			m, ok := x.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("crawl: spec file %s in %v: an entry is not an object", filePath, pr["path_with_namespace"])
			}
			m["__project"] = ProjectInfo(pr)
			m["__specFile"] = filePath
			out = append(out, m)
		}
	}
	return out, nil
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
