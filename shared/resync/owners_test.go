package resync

import "testing"

func TestOwnersFirstTokenWins(t *testing.T) {
	o := &owners{m: map[int64]int{}}
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
	if o.m[7] != 0 {
		t.Fatalf("owner %d, want 0", o.m[7])
	}
}
