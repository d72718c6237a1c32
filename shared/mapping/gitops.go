package mapping

import (
	"fmt"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
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
