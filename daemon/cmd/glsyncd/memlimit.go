package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// setMemoryLimit gives the Go runtime a soft memory limit of 90% of the
// container's (cgroup v2 memory.max) unless GOMEMLIMIT is set, so the
// garbage collector works harder before the kernel would kill the pod.
func setMemoryLimit(getenv func(string) string, cgroupFile string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return 0
	}
	b, err := os.ReadFile(cgroupFile)
	if err != nil {
		return 0
	}
	limit, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || limit <= 0 { // "max": no limit
		return 0
	}
	soft := limit / 10 * 9
	debug.SetMemoryLimit(soft)
	return soft
}
