package buildinfo

import (
	"runtime"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	s := String("glsyncd", "1.4.2")
	if !strings.HasPrefix(s, "glsyncd 1.4.2 (") || !strings.Contains(s, runtime.Version()) {
		t.Fatalf("%q", s)
	}
}
