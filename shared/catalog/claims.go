package catalog

import (
	"context"
	"fmt"
)

// A GitOps spec file (port.yml) is written by whoever can push to its
// repository. Its entities are claims: a spec may create entities that do
// not exist and update those of its own project (the common case: a
// repository's port.yml enriching the service entity the project kind
// made for it), but a claim on an entity another project owns, or one no
// project owns (a group's, a member's), is refused. Otherwise any
// committer of any synced repository could overwrite, and by dropping the
// entry later delete, entities that are not theirs.

// Owner is what produced a stored entity: the kind that last wrote it and
// the GitLab project its object lives in (0 for objects outside projects).
type Owner struct {
	Kind    string
	Project int64
}

// Owners is implemented by stores that can tell who owns entities.
type Owners interface {
	// Owners returns the owners of the keys that are stored; a key not
	// stored is absent from the map.
	Owners(ctx context.Context, keys []Key) (map[Key]Owner, error)
}

// Refusal is a spec file's claim on an entity it may not write.
type Refusal struct {
	Key
	// Project is the claimant: the project whose spec file made the claim.
	Project int64
	// Owner owns the entity now.
	Owner Owner
}

func (r Refusal) String() string {
	return fmt.Sprintf("%s/%s claimed by project %d, owned by kind %s of project %d", r.Blueprint, r.Identifier, r.Project, r.Owner.Kind, r.Owner.Project)
}

// FilterClaims keeps the entities project's spec file may write: those not
// stored, those stored whose project is project, and own: the keys the
// project's own object produces (its service entity, which the project
// kind stores without a project). The rest are refused.
func FilterClaims(ctx context.Context, owners Owners, project int64, own map[Key]bool, ents []*Entity) ([]*Entity, []Refusal, error) {
	if len(ents) == 0 {
		return ents, nil, nil
	}
	keys := make([]Key, len(ents))
	for i, e := range ents {
		keys[i] = e.Key()
	}
	held, err := owners.Owners(ctx, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: owners of a spec file's entities: %w", err)
	}
	var kept []*Entity
	var refused []Refusal
	for _, e := range ents {
		o, ok := held[e.Key()]
		if !ok || project != 0 && o.Project == project || own[e.Key()] {
			kept = append(kept, e)
			continue
		}
		refused = append(refused, Refusal{Key: e.Key(), Project: project, Owner: o})
	}
	return kept, refused, nil
}

// ProducedBy keeps the keys whose stored owner is kind of project: what a
// spec file of project may delete when it stops declaring them.
func ProducedBy(ctx context.Context, owners Owners, kind string, project int64, keys []Key) ([]Key, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	held, err := owners.Owners(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("catalog: owners of a spec file's former entities: %w", err)
	}
	var out []Key
	for _, k := range keys {
		if o, ok := held[k]; ok && o.Kind == kind && o.Project == project {
			out = append(out, k)
		}
	}
	return out, nil
}
