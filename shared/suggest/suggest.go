// Package suggest finds the known name a mistyped one was probably meant
// to be, for the "did you mean" of unknown-key errors. It is a leaf
// package so that the mapping and the config, which both report unknown
// keys, share one rule for what counts as a near miss.
package suggest

import "strings"

// Nearest returns the known name closest to key, ignoring case, and
// whether it is close enough to be a typo of it: at most max(2,
// len(key)/3) edits away. Further than that, a suggestion would mislead
// more often than help, and the caller should list the known names.
func Nearest(key string, known []string) (string, bool) {
	best, dist := "", 1<<30
	for _, k := range known {
		if d := Distance(strings.ToLower(key), strings.ToLower(k)); d < dist {
			best, dist = k, d
		}
	}
	return best, best != "" && dist <= max(2, len(key)/3)
}

// Distance is the Levenshtein distance between a and b (bytes inserted,
// deleted or substituted).
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
