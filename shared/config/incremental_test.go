package config

import (
	"strings"
	"testing"
	"time"
)

// TestOceanIncrementalSync: Ocean's incremental sync settings, as its Helm
// values set them (OCEAN__INTEGRATION__INCREMENTAL_SYNC_*) or as a config
// file writes them (incrementalSyncEnabled, incrementalSyncInterval),
// become glsync's incremental passes: enabled turns them on (or, false,
// off), the interval schedules the passes and Ocean's
// scheduledResyncInterval becomes the full passes' interval. Ocean's
// rules hold: 15, 30 or 60 minutes, bare or as 15m/1h.
func TestOceanIncrementalSync(t *testing.T) {
	base := map[string]string{EnvTokenMapping: `{"` + tok + `": ["**"]}`}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name        string
		env         map[string]string
		file        string
		incremental string
		passes      time.Duration
		full        time.Duration
		warn, err   string
	}{
		{name: "unset: glsync's default", env: with(), incremental: "auto", full: 24 * time.Hour},
		{name: "enabled", env: with(EnvOceanIncrementalEnabled, "true"), incremental: "true", full: 24 * time.Hour},
		{name: "disabled", env: with(EnvOceanIncrementalEnabled, "False"), incremental: "false", full: 24 * time.Hour},
		{name: "enabled with interval and Ocean's full interval",
			env:         with(EnvOceanIncrementalEnabled, "1", EnvOceanIncrementalInterval, "15", EnvResyncInterval, "1440"),
			incremental: "true", passes: 15 * time.Minute, full: 24 * time.Hour},
		{name: "interval as a duration", env: with(EnvOceanIncrementalEnabled, "true", EnvOceanIncrementalInterval, "1h", EnvResyncInterval, "360"),
			incremental: "true", passes: time.Hour, full: 6 * time.Hour},
		{name: "glsync's fullResyncInterval wins",
			env:         with(EnvOceanIncrementalEnabled, "true", EnvOceanIncrementalInterval, "30m", EnvResyncInterval, "360", EnvFullResyncInterval, "48h"),
			incremental: "true", passes: 30 * time.Minute, full: 48 * time.Hour},
		{name: "config file keys", env: with(), file: "incrementalSyncEnabled: true\nincrementalSyncInterval: 30\nscheduledResyncInterval: 720\n",
			incremental: "true", passes: 30 * time.Minute, full: 12 * time.Hour},
		{name: "glsync's incrementalResync wins", env: with(EnvOceanIncrementalEnabled, "true", EnvIncrementalResync, "false"),
			incremental: "false", full: 24 * time.Hour, warn: "incrementalResync wins"},
		{name: "interval without incremental passes", env: with(EnvOceanIncrementalInterval, "15", EnvResyncInterval, "60"),
			incremental: "auto", passes: time.Hour, full: 24 * time.Hour, warn: "incrementalSyncInterval (OCEAN__INTEGRATION__INCREMENTAL_SYNC_INTERVAL) is ignored"},
		{name: "interval Ocean refuses", env: with(EnvOceanIncrementalEnabled, "true", EnvOceanIncrementalInterval, "20"), err: "must be 15, 30 or 60 minutes"},
		{name: "interval that is no interval", env: with(EnvOceanIncrementalEnabled, "true", EnvOceanIncrementalInterval, "soon"), err: "must be minutes"},
		{name: "flag that is no flag", env: with(EnvOceanIncrementalEnabled, "maybe"), err: "incrementalSyncEnabled"},
		{name: "with resyncCron", env: with(EnvOceanIncrementalEnabled, "true", EnvOceanIncrementalInterval, "15", EnvResyncCron, "0 * * * *"), err: "resyncCron"},
		{name: "full interval under an hour", env: with(EnvOceanIncrementalEnabled, "true", EnvOceanIncrementalInterval, "15", EnvResyncInterval, "30"), err: "at least 1h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.file != "" {
				path = writeFile(t, tc.file)
			}
			c, err := Load(path, env(tc.env))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("want an error with %q, got %v", tc.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.IncrementalResync != tc.incremental || c.ScheduledResyncInterval != tc.passes || c.FullResyncInterval != tc.full {
				t.Fatalf("incremental %s, passes %v, full %v; want %s, %v, %v", c.IncrementalResync, c.ScheduledResyncInterval, c.FullResyncInterval, tc.incremental, tc.passes, tc.full)
			}
			if w := strings.Join(c.Warnings, "\n"); (tc.warn == "") != (w == "") || !strings.Contains(w, tc.warn) {
				t.Fatalf("warnings %q, want %q", w, tc.warn)
			}
		})
	}
}
