package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/redact"
)

// oceanIncrementalIntervals are the intervals Ocean accepts
// (ALLOWED_INCREMENTAL_SYNC_INTERVALS, core 0.47.6), in minutes.
var oceanIncrementalIntervals = []int{15, 30, 60}

// parseOceanIncrementalEnabled and parseOceanIncrementalInterval apply
// Ocean core's incremental sync settings (port_ocean/config/settings.py,
// IntegrationSettings, nested under INTEGRATION:
// EnvOceanIncrementalEnabled, EnvOceanIncrementalInterval) after glsync's
// own incremental settings were read. Ocean runs an incremental sync as a
// separate ONCE run every interval, beside its full resyncs every
// scheduledResyncInterval; glsync's passes are one schedule where each
// kind is incremental except every fullResyncInterval. So an Ocean
// deployment's pair becomes: passes every incrementalSyncInterval, full
// ones every scheduledResyncInterval. glsync's incrementalResync, when
// set, wins over Ocean's flag (a disagreement is a warning); the interval
// applies only when the passes are incremental, as Ocean reads it only
// then.
func parseOceanIncrementalEnabled(b *builder, g given) error {
	enabled, esrc := g.val, g.env
	if f := g.file.Interface().(*bool); enabled == "" && f != nil {
		enabled = strconv.FormatBool(*f)
	}
	if enabled == "" {
		return nil
	}
	on, ok := oceanBool(enabled)
	if !ok {
		return &Error{Setting: g.key, Source: esrc, Err: fmt.Errorf("must be true or false, got %s", redact.Quote(enabled))}
	}
	want := strconv.FormatBool(on)
	if own, osrc := b.str("incrementalResync"); own != "" {
		if b.IncrementalResync != want {
			b.Warnings = append(b.Warnings, fmt.Sprintf("incrementalSyncEnabled (%s) is %s, but incrementalResync (%s) is %s: incrementalResync wins",
				where(g.key, esrc), want, where("incrementalResync", osrc), b.IncrementalResync))
		}
	} else {
		b.IncrementalResync = want
	}
	return nil
}

// parseOceanIncrementalInterval: see parseOceanIncrementalEnabled.
func parseOceanIncrementalInterval(b *builder, g given) error {
	raw, isrc := g.val, g.env
	if n := g.node(); raw == "" && n.Kind != 0 {
		raw = n.Value
	}
	if raw == "" {
		return nil
	}
	minutes, err := oceanMinutes(raw)
	if err == nil && !slices.Contains(oceanIncrementalIntervals, minutes) {
		err = fmt.Errorf("must be 15, 30 or 60 minutes, as Ocean allows, got %d", minutes)
	}
	if err != nil {
		return &Error{Setting: g.key, Source: isrc, Err: err}
	}
	if !b.Incremental() {
		b.Warnings = append(b.Warnings, fmt.Sprintf("incrementalSyncInterval (%s) is ignored: passes are not incremental (incrementalResync is %s%s), as Ocean ignores it without incrementalSyncEnabled",
			where(g.key, isrc), b.IncrementalResync, map[bool]string{true: " and appHost is not set", false: ""}[b.IncrementalResync == "auto"]))
		return nil
	}
	if b.ResyncCron != "" {
		return &Error{Setting: g.key, Source: isrc, Err: fmt.Errorf("schedules the passes, as resyncCron does: set one of them")}
	}
	interval := time.Duration(minutes) * time.Minute
	full := b.ScheduledResyncInterval
	b.ScheduledResyncInterval = interval
	if own, _ := b.str("fullResyncInterval"); own != "" || full == 0 {
		return nil
	}
	// Ocean's scheduledResyncInterval is the full resyncs' schedule.
	if full < time.Hour || full < interval {
		return &Error{Setting: "scheduledResyncInterval", Err: fmt.Errorf("is the full resyncs' interval when incrementalSyncInterval is set, and must then be at least 1h and at least %s, got %s", interval, full)}
	}
	b.FullResyncInterval = full
	return nil
}

// oceanBool reads a boolean as pydantic does for Ocean's settings.
func oceanBool(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "t", "yes", "y", "on":
		return true, true
	case "0", "false", "f", "no", "n", "off":
		return false, true
	}
	return false, false
}

// oceanMinutes reads an interval as Ocean's parse_interval_to_minutes
// does: bare minutes ("15") or a duration ("15m", "1h").
func oceanMinutes(v string) (int, error) {
	v = strings.TrimSpace(v)
	if n, err := strconv.Atoi(v); err == nil {
		return n, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d%time.Minute != 0 {
		return 0, fmt.Errorf("must be minutes (15) or a duration (15m, 1h), got %s", redact.Quote(v))
	}
	return int(d / time.Minute), nil
}
