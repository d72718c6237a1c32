package resync

import (
	"context"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
)

// resolveSearch gives an entity whose identifier is a search query (Port's
// "map by property") the identifier of the one entity it updates, found
// in the store as Port finds it on upsert; a store that resolves them
// itself (the Port sink: Port does) gets the entity as it is. It reports
// whether e is to be written. A query matching no entity or several
// leaves the object out, as Port refuses the write: recorded like an
// identifier expression that failed (the summary's expression errors, one
// log line per resource), or, with strictMapping, the kind's error.
func (k *kindSync) resolveSearch(ctx context.Context, r *mapping.Resource, e *catalog.Entity, obj map[string]any) bool {
	if e.Search == nil {
		return true
	}
	if sr, ok := k.opts.Store.(catalog.SearchResolver); ok && sr.ResolvesSearch() {
		return true
	}
	err := catalog.ResolveSearch(ctx, k.opts.Store, e)
	if err == nil {
		return true
	}
	se, ok := catalog.AsSearchError(err)
	if !ok || r.Strict() {
		k.addErr(err)
		return false
	}
	object := objectPath(obj)
	if object == "" {
		object = se.Query
	}
	// One summary row per outcome, so "none" and "several" both show.
	field := "port.entity.mappings.identifier (search matched none)"
	switch {
	case se.Unsupported != "":
		field = "port.entity.mappings.identifier (search not evaluable here)"
	case se.Count > 1:
		field = "port.entity.mappings.identifier (search matched several)"
	}
	k.expr.MappingFailed(mapping.Failure{
		Error:   &mapping.Error{Resource: r.Index, Kind: r.Kind, Field: field, Err: se},
		Object:  object,
		Skipped: true,
	})
	return false
}
