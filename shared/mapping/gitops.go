package mapping

import (
	"context"
	"fmt"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// Declared turns an entity declared in a GitOps spec file into a catalog
// entity; the file states identifier, blueprint, title, properties and
// relations itself, and the mapping whether writing it merges
// (enableMergeEntity), as for mapped entities.
func (c *Config) Declared(obj map[string]any) (*catalog.Entity, error) {
	file, _ := obj["__specFile"].(string)
	proj, _ := obj["__project"].(map[string]any)
	where := fmt.Sprintf("gitops: %v/%s", proj["path_with_namespace"], file)
	id, _ := obj["identifier"].(string)
	bp, _ := obj["blueprint"].(string)
	if id == "" || bp == "" {
		return nil, fmt.Errorf("%s: every entity needs a string identifier and blueprint", where)
	}
	e := &catalog.Entity{Identifier: id, Blueprint: bp, Properties: map[string]any{}, Relations: map[string]any{}, Replace: !c.EnableMergeEntity}
	e.Origin = specOrigin(proj, file)
	e.Title, _ = obj["title"].(string)
	e.Icon, _ = obj["icon"].(string)
	e.Team, _ = obj["team"].(string)
	if p, ok := obj["properties"].(map[string]any); ok {
		e.Properties = p
	}
	if r, ok := obj["relations"].(map[string]any); ok {
		e.Relations = r
	}
	return e, nil
}

// OwnKeys are the keys the project and project-with-members kinds of c
// give project (a project object, or the ProjectInfo a spec object
// carries): the entities a GitOps spec file of that project may enrich
// although the project kinds own them (catalog.FilterClaims).
func (c *Config) OwnKeys(ctx context.Context, project map[string]any) map[catalog.Key]bool {
	own := map[catalog.Key]bool{}
	for _, kind := range []string{selector.KindProject, selector.KindProjectWithMembers} {
		for _, r := range c.ResourcesFor(kind) {
			if k, err := r.Identify(ctx, project); err == nil {
				own[k] = true
			}
		}
	}
	return own
}
