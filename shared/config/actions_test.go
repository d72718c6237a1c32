package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestActionsProcessorSettings: Ocean's defaults, its variables and the
// file keys, Ocean's bounds, and the processor refused without the Port
// catalog (the runs come from Port), naming the setting and the catalog.
func TestActionsProcessorSettings(t *testing.T) {
	c, err := Load("", env(oceanPortEnv()))
	if err != nil {
		t.Fatal(err)
	}
	want := ActionsProcessor{PollCheckInterval: 10 * time.Second, VisibilityTimeout: time.Minute, WorkersCount: 3, RunsBufferHighWatermark: 300, MaxRunsBufferUtilPctPerAction: 30}
	if c.ActionsProcessor != want {
		t.Fatalf("defaults %+v, want %+v", c.ActionsProcessor, want)
	}
	e := oceanPortEnv()
	e[EnvActionsEnabled], e[EnvActionsPollInterval], e[EnvActionsVisibility] = "true", "2", "5000"
	e[EnvActionsWorkers], e[EnvActionsWatermark], e[EnvActionsPctPerAction] = "5", "50", "10"
	if c, err = Load("", env(e)); err != nil {
		t.Fatal(err)
	}
	want = ActionsProcessor{Enabled: true, PollCheckInterval: 2 * time.Second, VisibilityTimeout: 5 * time.Second, WorkersCount: 5, RunsBufferHighWatermark: 50, MaxRunsBufferUtilPctPerAction: 10}
	if c.ActionsProcessor != want {
		t.Fatalf("from the environment %+v, want %+v", c.ActionsProcessor, want)
	}
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte("actionsProcessorEnabled: true\nactionsProcessorWorkersCount: 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = Load(p, env(oceanPortEnv())); err != nil || !c.ActionsProcessor.Enabled || c.ActionsProcessor.WorkersCount != 7 {
		t.Fatalf("from the file: %+v %v", c, err)
	}
	for _, c := range []struct{ env, value, msg string }{
		{EnvActionsWatermark, "1001", "config: actionsProcessorRunsBufferHighWatermark (from OCEAN__ACTIONS_PROCESSOR__RUNS_BUFFER_HIGH_WATERMARK): must be between 1 and 1000, got 1001"},
		{EnvActionsVisibility, "600001", "config: actionsProcessorVisibilityTimeoutMs (from OCEAN__ACTIONS_PROCESSOR__VISIBILITY_TIMEOUT_MS): must be between 1 and 600000, got 600001"},
		{EnvActionsPctPerAction, "101", "config: actionsProcessorMaxRunsBufferUtilPctPerAction (from OCEAN__ACTIONS_PROCESSOR__MAX_RUNS_BUFFER_UTIL_PCT_PER_ACTION): must be between 1 and 100, got 101"},
		{EnvActionsPollInterval, "ten", `config: actionsProcessorPollCheckIntervalSeconds (from OCEAN__ACTIONS_PROCESSOR__POLL_CHECK_INTERVAL_SECONDS): must be a whole number, got "ten"`},
	} {
		e := oceanPortEnv()
		e[c.env] = c.value
		if _, err := Load("", env(e)); err == nil || err.Error() != c.msg {
			t.Errorf("%s=%s: %v, want %s", c.env, c.value, err, c.msg)
		}
	}
	e = oceanPortEnv()
	e[EnvActionsWorkers] = "0"
	if _, err := Load("", env(e)); err == nil || !strings.Contains(err.Error(), "actionsProcessorWorkersCount (from OCEAN__ACTIONS_PROCESSOR__WORKERS_COUNT): must be at least 1, got 0") {
		t.Errorf("workers 0: %v", err)
	}
	_, err = Load("", env(map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`, EnvActionsEnabled: "true"}))
	if err == nil || err.Error() != "config: actionsProcessorEnabled (from OCEAN__ACTIONS_PROCESSOR__ENABLED): is true, but the catalog is embedded (the default): "+
		"action runs come from Port, so the actions processor needs catalog port (set portClientId and portClientSecret)" {
		t.Fatalf("without Port: %v", err)
	}
}
