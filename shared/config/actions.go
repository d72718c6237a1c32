package config

import (
	"time"
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
