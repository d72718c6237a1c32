package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
)

// Writes merge, as Port's do.
//
// Ocean sends each entity with only the fields its mapping sets and asks
// Port to merge (enableMergeEntity, default true): Port keeps what a write
// leaves out. A port-app-config may map two kinds to the same entity (a
// file kind adding a README to the service the project kind writes, a
// members kind adding owners to it): in Port it ends up with both kinds'
// properties and relations, and a field both set holds the later write.
// Stores do the same: an entity written over a stored one is merged into
// it (properties and relations united, an empty title, icon or team, i.e.
// not mapped and so not sent, keeping the stored one), so it does not
// matter which kind's read comes last, in a resync or from a webhook. As
// in Port, a property a mapping stops setting stays until the entity is
// deleted. With enableMergeEntity false (Entity.Replace) a write replaces
// the stored entity, as Port does then.
//
// Merging costs a read of the stored content only when the written entity
// differs from it: an unchanged entity is recognised by its hash.

// Merge returns next written over prev the way Port merges an upsert: the
// union of their properties and of their relations (next's value where
// both have one), and next's title, icon and team unless empty. prev and
// next are not modified.
func Merge(prev, next *Entity) *Entity {
	m := *next
	m.Properties = maps.Clone(orEmpty(prev.Properties))
	maps.Copy(m.Properties, next.Properties)
	m.Relations = maps.Clone(orEmpty(prev.Relations))
	maps.Copy(m.Relations, next.Relations)
	if m.Title == "" {
		m.Title = prev.Title
	}
	if m.Icon == "" {
		m.Icon = prev.Icon
	}
	if m.Team == "" {
		m.Team = prev.Team
	}
	return &m
}

// MergeVersions merges a write, next, with the stored entity, prev, by
// their versions: the newer one's fields win where both have one, so a
// kind's read fetched before another kind's (or a webhook's) still adds
// its part without undoing the newer one. The result carries the newer
// version and next's project, Replace and Origin (the writer's).
func MergeVersions(prev, next *Entity) *Entity {
	if prev.Version <= next.Version {
		return Merge(prev, next)
	}
	m := Merge(next, prev)
	m.Project, m.Replace, m.Origin = next.Project, next.Replace, next.Origin
	return m
}

// Encoded is an entity as stores keep it: its properties and relations as
// JSON, and a hash of its content that tells a changed entity from an
// unchanged one.
type Encoded struct {
	Properties, Relations []byte
	Hash                  string
}

// Encode encodes e's content for a store.
func Encode(e *Entity) (Encoded, error) {
	props, err := json.Marshal(orEmpty(e.Properties))
	if err != nil {
		return Encoded{}, fmt.Errorf("properties: %w", err)
	}
	rels, err := json.Marshal(orEmpty(e.Relations))
	if err != nil {
		return Encoded{}, fmt.Errorf("relations: %w", err)
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(e.Title), {0}, []byte(e.Team), {0}, []byte(e.Icon), {0}, props, {0}, rels} {
		h.Write(part)
	}
	return Encoded{Properties: props, Relations: rels, Hash: hex.EncodeToString(h.Sum(nil))}, nil
}

// Decode fills e's properties and relations from a store's JSON.
func Decode(e *Entity, props, rels []byte) error {
	if err := json.Unmarshal(props, &e.Properties); err != nil {
		return fmt.Errorf("%s/%s: properties: %w", e.Blueprint, e.Identifier, err)
	}
	if err := json.Unmarshal(rels, &e.Relations); err != nil {
		return fmt.Errorf("%s/%s: relations: %w", e.Blueprint, e.Identifier, err)
	}
	return nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}
