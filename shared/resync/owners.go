package resync

import (
	"sync"

	"github.com/RoaringBitmap/roaring/v2/roaring64"
)

// owners remembers which token wrote each object in this run. The owner of
// an object is the first token in tokenMapping order that can see it: a
// later token skips it, and an earlier token that arrives after a later one
// writes it again so its version is the one kept. The result does not
// depend on timing.
//
// Each token's written ids are a compressed bitmap, not a map: GitLab's
// ids are dense sequences, so a kind of 100,000 objects costs tens of
// kilobytes instead of megabytes, and a resync's memory does not grow
// with the organisation.
type owners struct {
	mu sync.Mutex
	by []*roaring64.Bitmap // by[i]: the ids token i wrote
}

func newOwners(tokens int) *owners {
	o := &owners{by: make([]*roaring64.Bitmap, tokens)}
	for i := range o.by {
		o.by[i] = roaring64.New()
	}
	return o
}

// owner is the first token that wrote id. Called with mu held.
func (o *owners) owner(id uint64) (int, bool) {
	for i, b := range o.by {
		if b.Contains(id) {
			return i, true
		}
	}
	return 0, false
}

// claim reports whether token index i must write object id, and whether
// another (later) token had written it already.
func (o *owners) claim(id int64, i int) (write, rewrite bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	prev, seen := o.owner(uint64(id))
	switch {
	case !seen:
		o.by[i].Add(uint64(id))
		return true, false
	case prev > i:
		o.by[i].Add(uint64(id))
		return true, true
	}
	return false, false
}

// selected is the number of distinct objects the kind's listings kept.
func selected(owns []*owners) int {
	var all []*roaring64.Bitmap
	for _, o := range owns {
		all = append(all, o.by...)
	}
	if len(all) == 0 {
		return 0
	}
	return int(roaring64.FastOr(all...).GetCardinality())
}
