package service

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/config"
)

// requestPoll is how often the leader looks for resync requests made on
// other replicas.
const requestPoll = time.Second

// schedule runs a resync when leadership begins (resyncOnStart: at
// start-up, and on a replica that takes over, so an interrupted resync is
// completed), on the interval or cron schedule, and when asked on any
// replica.
func (s *Service) schedule(ctx context.Context) {
	cfg := s.opts.Config
	next := func() <-chan time.Time { return nil }
	// after also records when the timer fires, for the console.
	after := func(d time.Duration) <-chan time.Time {
		s.nextResync.Store(time.Now().Add(d).UnixNano())
		return time.After(d)
	}
	switch {
	case cfg.ResyncCron != "":
		sched, err := config.ParseCron(cfg.ResyncCron)
		if err != nil {
			s.log.Error("resyncCron", "error", err)
			break
		}
		next = func() <-chan time.Time { return after(jitter(time.Until(sched.Next(time.Now())))) }
	case cfg.ScheduledResyncInterval > 0:
		next = func() <-chan time.Time { return after(jitter(cfg.ScheduledResyncInterval)) }
	}
	if cfg.ResyncOnStart {
		s.resync(ctx, "start-up")
	}
	poll := time.NewTicker(requestPoll)
	defer poll.Stop()
	timer := next()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer:
			s.resync(ctx, "schedule")
			timer = next()
		case <-s.trigger:
			s.takeRequest(ctx)
		case <-poll.C:
			s.takeRequest(ctx)
		}
	}
}

// FullSuffix ends the reason of a resync that must be a full pass (POST
// /resync?full=true, glsyncd resync --remote … --full): the reason is what
// travels from the replica asked to the leader.
const FullSuffix = " (full)"

// takeRequest runs the resync a replica asked for, if any.
func (s *Service) takeRequest(ctx context.Context) {
	why, ok, err := s.coord.TakeResyncRequest(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("reading resync requests failed", "error", err)
		}
		return
	}
	if ok {
		s.resync(ctx, why)
	}
}

// jitter adds up to 5% (at most a minute) so replicas and restarts do not
// all hit GitLab in the same second.
func jitter(d time.Duration) time.Duration {
	j := d / 20
	if j > time.Minute {
		j = time.Minute
	}
	if j <= 0 {
		return d
	}
	return d + time.Duration(rand.Int64N(int64(j)))
}
