package config

import (
	"fmt"
	"strconv"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/redact"
)

// ActionsProcessor are Ocean's actions_processor settings, with its
// defaults: the daemon claims Port's action runs for this integration
// and executes them (trigger_pipeline).
type ActionsProcessor struct {
	Enabled bool
	// PollCheckInterval is the sleep when no run was claimed, the buffer
	// is full or a claim failed (default 10s).
	PollCheckInterval time.Duration
	// VisibilityTimeout is a claim's lease (default 60s).
	VisibilityTimeout time.Duration
	// WorkersCount runs execute at once (default 3).
	WorkersCount int
	// RunsBufferHighWatermark bounds the claimed runs waiting (default
	// 300), MaxRunsBufferUtilPctPerAction one action's share of them
	// (default 30).
	RunsBufferHighWatermark       int
	MaxRunsBufferUtilPctPerAction int
}

// actionsSettings reads actionsProcessor*: Ocean's bounds, and only with
// the Port catalog, where the runs come from.
func (c *Config) actionsSettings(f file, getenv func(string) string) error {
	enabled, err := boolSetting("actionsProcessorEnabled", f.ActionsProcessorEnabled, EnvActionsEnabled, false, getenv)
	if err != nil {
		return err
	}
	a := ActionsProcessor{Enabled: enabled}
	ints := []struct {
		key, env string
		file     *int
		def, min int
		max      int // 0: none
		into     func(int)
	}{
		{"actionsProcessorPollCheckIntervalSeconds", EnvActionsPollInterval, f.ActionsProcessorPollCheckIntervalSeconds, 10, 1, 0,
			func(n int) { a.PollCheckInterval = time.Duration(n) * time.Second }},
		{"actionsProcessorVisibilityTimeoutMs", EnvActionsVisibility, f.ActionsProcessorVisibilityTimeoutMs, 60000, 1, 600000,
			func(n int) { a.VisibilityTimeout = time.Duration(n) * time.Millisecond }},
		{"actionsProcessorWorkersCount", EnvActionsWorkers, f.ActionsProcessorWorkersCount, 3, 1, 0, func(n int) { a.WorkersCount = n }},
		{"actionsProcessorRunsBufferHighWatermark", EnvActionsWatermark, f.ActionsProcessorRunsBufferHighWatermark, 300, 1, 1000,
			func(n int) { a.RunsBufferHighWatermark = n }},
		{"actionsProcessorMaxRunsBufferUtilPctPerAction", EnvActionsPctPerAction, f.ActionsProcessorMaxRunsBufferUtilPctPerAction, 30, 1, 100,
			func(n int) { a.MaxRunsBufferUtilPctPerAction = n }},
	}
	for _, s := range ints {
		n, src := s.def, ""
		if s.file != nil {
			n = *s.file
		}
		if v := getenv(s.env); v != "" {
			if n, err = strconv.Atoi(v); err != nil {
				return &Error{Setting: s.key, Source: s.env, Err: fmt.Errorf("must be a whole number, got %s", redact.Quote(v))}
			}
			src = s.env
		}
		if n < s.min || s.max > 0 && n > s.max {
			bound := fmt.Sprintf("at least %d", s.min)
			if s.max > 0 {
				bound = fmt.Sprintf("between %d and %d", s.min, s.max)
			}
			return &Error{Setting: s.key, Source: src, Err: fmt.Errorf("must be %s, got %d", bound, n)}
		}
		s.into(n)
	}
	if a.Enabled && c.Catalog != "port" {
		src := ""
		if getenv(EnvActionsEnabled) != "" {
			src = EnvActionsEnabled
		}
		return &Error{Setting: "actionsProcessorEnabled", Source: src, Err: fmt.Errorf(
			"is true, but the catalog is %s (%s): action runs come from Port, so the actions processor needs catalog port (set portClientId and portClientSecret)",
			c.Catalog, c.CatalogFrom)}
	}
	c.ActionsProcessor = a
	return nil
}
