package events

import "github.com/glsync/terraform-provider-glsync/shared/catalog"

// withoutSearch leaves out the entities whose identifier is a search query
// (Port's "map by property", catalog.Entity.Search): an event's changes
// are applied by key, and such an entity has none until Port or a resync
// resolves it, so writing it would store it under the query itself. The
// entity the query matches keeps what the last resync wrote until the
// next one.
func withoutSearch(ents []*catalog.Entity) []*catalog.Entity {
	out := ents[:0:0]
	for _, e := range ents {
		if e.Search == nil {
			out = append(out, e)
		}
	}
	if len(out) == len(ents) {
		return ents
	}
	return out
}
