package resync_test

import "github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"

// rootScope answers, from the simulator's data, what a root group's
// access token sees: the tests and benchmarks compute expected entity
// sets and minimum request counts with it.
type rootScope struct{ parent map[int64]int64 }

func newRootScope(sim *gitlabtest.Server) rootScope {
	parent := map[int64]int64{}
	for _, g := range sim.Groups() {
		parent[g.ID] = g.ParentID
	}
	return rootScope{parent}
}

// under reports whether group id is root or one of its descendants.
func (s rootScope) under(id, root int64) bool {
	for ; id != 0; id = s.parent[id] {
		if id == root {
			return true
		}
	}
	return false
}

// sees reports whether root's token sees p: p lives under root or is
// shared with a group under it.
func (s rootScope) sees(p gitlabtest.ProjectInfo, root int64) bool {
	v := s.under(p.NamespaceID, root)
	for _, g := range p.SharedWith {
		v = v || s.under(g, root)
	}
	return v
}
