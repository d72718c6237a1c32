package suggest

import "testing"

// TestNearest: a near miss (case, a dropped or swapped letter) is
// suggested; a name far from every known one is not, so the caller lists
// the known names instead of guessing.
func TestNearest(t *testing.T) {
	known := []string{"gitlabHost", "appHost", "tokenMapping", "portClientId"}
	for _, c := range []struct {
		key, want string
		ok        bool
	}{
		{"gitlabhost", "gitlabHost", true},
		{"gitlabHots", "gitlabHost", true},
		{"tokenMaping", "tokenMapping", true},
		{"portClientID", "portClientId", true},
		{"kafkaBrokers", "", false},
	} {
		got, ok := Nearest(c.key, known)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("Nearest(%q) = %q, %v; want %q, %v", c.key, got, ok, c.want, c.ok)
		}
	}
	if _, ok := Nearest("x", nil); ok {
		t.Error("no known names: no suggestion")
	}
	if d := Distance("kitten", "sitting"); d != 3 {
		t.Errorf("Distance(kitten, sitting) = %d, want 3", d)
	}
}
