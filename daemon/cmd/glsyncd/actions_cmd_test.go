package main

import (
	"strings"
	"testing"
)

// TestValidateActionsProcessor: validate shows the actions processor's
// settings with the Port catalog (Ocean's variables), and refuses it
// (exit 2) without Port, naming the setting and the catalog.
func TestValidateActionsProcessor(t *testing.T) {
	_, org, url := sim(t)
	env := map[string]string{"OCEAN__INTEGRATION__CONFIG__GITLAB_HOST": url, "OCEAN__INTEGRATION__CONFIG__TOKEN_MAPPING": `{"` + org.RootTokens[0] + `": ["**"]}`,
		"OCEAN__ACTIONS_PROCESSOR__ENABLED": "true", "OCEAN__PORT__CLIENT_ID": "cid", "OCEAN__PORT__CLIENT_SECRET": "csecret-not-printed",
		"OCEAN__ACTIONS_PROCESSOR__WORKERS_COUNT": "5", "GLSYNC_DATA_DIR": t.TempDir()}
	r := runCLI(t, env, "validate")
	want := "actions processor: on for integration gitlab (trigger_pipeline): claims every 10s, lease 1m0s, 5 workers, buffer 300, 30% per action; " +
		"pipelines' ends from polling GitLab every poll interval (no appHost, so no Pipeline Hook)"
	if r.code != 0 || !strings.Contains(r.stdout, want) || strings.Contains(r.stdout+r.stderr, "csecret-not-printed") {
		t.Fatalf("validate exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	delete(env, "OCEAN__PORT__CLIENT_ID")
	delete(env, "OCEAN__PORT__CLIENT_SECRET")
	r = runCLI(t, env, "validate")
	if r.code != 2 || !strings.Contains(r.stderr, "config: actionsProcessorEnabled (from OCEAN__ACTIONS_PROCESSOR__ENABLED): is true, but the catalog is embedded (the default)") {
		t.Fatalf("without Port: exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
