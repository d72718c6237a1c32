package resync_test

import (
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/resync/minimum"
)

// rootScope answers, from the simulator's data, what a root group's
// access token sees: the tests and benchmarks compute expected entity
// sets and minimum request counts with it (minimum.Scope).
type rootScope struct{ minimum.Scope }

func newRootScope(sim *gitlabtest.Server) rootScope { return rootScope{minimum.NewScope(sim)} }

func (s rootScope) under(id, root int64) bool                      { return s.Under(id, root) }
func (s rootScope) sees(p gitlabtest.ProjectInfo, root int64) bool { return s.Sees(p, root) }
