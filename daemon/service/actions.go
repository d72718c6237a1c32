package service

import (
	"context"
	"time"

	"github.com/glsync/terraform-provider-glsync/daemon/actions"
	"github.com/glsync/terraform-provider-glsync/shared/port"
)

// newActions builds the actions processor when actionsProcessorEnabled
// (catalog port only, which config enforces). Every replica runs one:
// Port's ack, atomic, is what keeps a run from being executed twice (see
// package actions), so no leadership is needed. The Pipeline Hook
// completes runs through the event queue, which hands each delivery to
// one replica; without appHost no hook is delivered, so the processor
// follows each pipeline it triggered by polling GitLab, at the poll
// interval.
func (s *Service) newActions() *actions.Processor {
	ap := s.opts.Config.ActionsProcessor
	if !ap.Enabled || s.sink == nil {
		return nil
	}
	rateLimit := func(run *port.ActionRun, now time.Time) (int, time.Time, bool) {
		project, _ := run.Properties()["project"].(string)
		src := s.processor.LikelyOwner(project)
		if src == nil {
			return 0, time.Time{}, false
		}
		return src.Client.RateLimitWindow(now)
	}
	return actions.NewProcessor(s.sink.Client(), s.processor, actions.ProcessorOptions{RateLimit: rateLimit, Log: s.log.With("component", "actions"),
		Follow: s.opts.Config.AppHost == "", FollowInterval: ap.PollCheckInterval,
		Settings: actions.Settings{PollInterval: ap.PollCheckInterval, VisibilityTimeout: ap.VisibilityTimeout, Workers: ap.WorkersCount,
			HighWatermark: ap.RunsBufferHighWatermark, MaxPctPerAction: ap.MaxRunsBufferUtilPctPerAction},
	})
}

// runActions runs the processor until ctx ends; the channel closes once
// it has stopped (runs being executed finish first).
func (s *Service) runActions(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	if s.actions == nil {
		close(done)
		return done
	}
	s.log.Info("actions processor started: claiming Port action runs", "installation", s.sink.Client().Integration(), "follow_pipelines", s.actions.Follow)
	go func() {
		defer close(done)
		s.actions.Run(ctx)
	}()
	return done
}
