//go:build race

package main

// raceEnabled: the race detector multiplies memory use, so memory
// ceilings are checked only without it (.ci/run runs that test again).
const raceEnabled = true
