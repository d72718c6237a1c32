package resync

import "testing"

func TestOwnersFirstTokenWins(t *testing.T) {
	o := newOwners(4)
	// Token 2 sees the object first: it writes it.
	if w, rw := o.claim(7, 2); !w || rw {
		t.Fatalf("first claim: write=%v rewrite=%v", w, rw)
	}
	// Token 3 comes later in tokenMapping: it skips.
	if w, _ := o.claim(7, 3); w {
		t.Fatal("a later token must not write an owned object")
	}
	// Token 0 is earlier in tokenMapping: it rewrites and becomes owner.
	if w, rw := o.claim(7, 0); !w || !rw {
		t.Fatalf("earlier token: write=%v rewrite=%v", w, rw)
	}
	if w, _ := o.claim(7, 2); w {
		t.Fatal("token 2 must not write after token 0 owns the object")
	}
	if i, ok := o.owner(7); !ok || i != 0 {
		t.Fatalf("owner %d (%v), want 0", i, ok)
	}
	// Ids beyond 32 bits (GitLab.com's job ids) are objects like any.
	if w, rw := o.claim(1<<40+7, 1); !w || rw {
		t.Fatalf("large id: write=%v rewrite=%v", w, rw)
	}
	if _, ok := o.owner(7 + 1<<32); ok {
		t.Fatal("an id sharing the low 32 bits of another is not that object")
	}
}

func TestSelectedCountsDistinctObjects(t *testing.T) {
	a, b := newOwners(2), newOwners(2)
	for _, id := range []int64{1, 2, 3, 1 << 35} {
		a.claim(id, 0)
		a.claim(id, 1)
	}
	for _, id := range []int64{3, 4, 1 << 35} {
		b.claim(id, 1)
	}
	if got := selected([]*owners{a, b}); got != 5 {
		t.Fatalf("selected = %d, want 5 (1, 2, 3, 4, 2^35)", got)
	}
	if got := selected(nil); got != 0 {
		t.Fatalf("selected of nothing = %d", got)
	}
}
