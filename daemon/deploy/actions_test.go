package deploy

import (
	"strings"
	"testing"
	"time"
)

// TestChartActionsProcessor: Ocean's Helm values actionsProcessor.*
// reach the pod as Ocean's variables and turn the processor on with the
// Port credentials; off by default, the pod gets none of them.
func TestChartActionsProcessor(t *testing.T) {
	docs := render(t, append(append([]string{}, oceanValues...), "--set", "actionsProcessor.enabled=true", "--set", "actionsProcessor.workersCount=6",
		"--set", "actionsProcessor.visibilityTimeoutMs=120000")...)
	cfg := podConfig(t, docs)
	ap := cfg.ActionsProcessor
	if !ap.Enabled || ap.WorkersCount != 6 || ap.VisibilityTimeout != 2*time.Minute || ap.PollCheckInterval != 10*time.Second ||
		ap.RunsBufferHighWatermark != 300 || ap.MaxRunsBufferUtilPctPerAction != 30 {
		t.Fatalf("the pod's actions processor: %+v", ap)
	}
	for name := range podEnv(t, render(t, oceanValues...)) {
		if strings.HasPrefix(name, "OCEAN__ACTIONS_PROCESSOR__") {
			t.Fatalf("%s set with actionsProcessor.enabled false", name)
		}
	}
}
