// Package actions runs Port self-service action runs addressed to this
// integration, as Ocean's actions processor does for gitlab-v2
// (port_ocean/core/handlers/actions/execution_manager.py): one poller
// claims pending runs from Port (a lease, not an ownership), workers
// acknowledge each run immediately before executing it, and the ack,
// atomic in Port, is the only fence between replicas: a run whose lease
// ran out and was claimed again is refused (409) to whoever acks second,
// which then skips it silently. Every replica polls; none executes a run
// another acknowledged.
//
// The one executor is trigger_pipeline (trigger.go). Its runs stay
// IN_PROGRESS until the pipeline ends, which the Pipeline Hook reports
// (Complete, called by the event queue) or, without webhooks, polling
// GitLab (follow.go).
package actions

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/glsync/terraform-provider-glsync/daemon/events"
	"github.com/glsync/terraform-provider-glsync/shared/port"
	"github.com/glsync/terraform-provider-glsync/shared/retry"
)

// Port is the part of Port's API action runs need (*port.Client).
type Port interface {
	ClaimPendingRuns(ctx context.Context, r port.ClaimRequest) ([]port.ActionRun, error)
	AckRun(ctx context.Context, runID string) error
	PatchRun(ctx context.Context, runID string, p port.RunPatch) error
	PostRunLog(ctx context.Context, runID, message string) error
	RunByExternalID(ctx context.Context, id string) (*port.ActionRun, error)
}

// Projects resolves a project and the token that owns it
// (*events.Processor).
type Projects interface {
	ProjectOwner(ctx context.Context, ref string) (events.OwnedProject, error)
}

// Settings are Ocean's actions_processor settings (OCEAN__ACTIONS_PROCESSOR__*).
type Settings struct {
	// PollInterval is the sleep when nothing was claimed, the buffer is
	// full or a claim failed (default 10s).
	PollInterval time.Duration
	// VisibilityTimeout is the lease a claim asks for (default 60s).
	VisibilityTimeout time.Duration
	// Workers execute runs at once (default 3).
	Workers int
	// HighWatermark bounds the claimed runs waiting locally, and so each
	// claim's limit (default 300).
	HighWatermark int
	// MaxPctPerAction is the share of HighWatermark one Port action may
	// hold before it is excluded from claims (default 30).
	MaxPctPerAction int
}

func (s Settings) withDefaults() Settings {
	if s.PollInterval <= 0 {
		s.PollInterval = 10 * time.Second
	}
	if s.VisibilityTimeout <= 0 {
		s.VisibilityTimeout = 60 * time.Second
	}
	if s.Workers <= 0 {
		s.Workers = 3
	}
	if s.HighWatermark <= 0 {
		s.HighWatermark = 300
	}
	if s.MaxPctPerAction <= 0 {
		s.MaxPctPerAction = 30
	}
	return s
}

// execTimeout bounds a run's execution once acknowledged. It does not
// end with the processor's context: an acknowledged run is no one
// else's, so shutdown lets it finish rather than leave it IN_PROGRESS
// with no pipeline.
const execTimeout = 2 * time.Minute

// Processor claims and executes action runs. Make one with NewProcessor.
type Processor struct {
	port     Port
	projects Projects
	// ProcessorOptions are the settings, their defaults settled by
	// NewProcessor.
	ProcessorOptions

	// beforeAck, in tests, runs just before a run is acknowledged.
	beforeAck func(ctx context.Context, run *port.ActionRun)

	mu        sync.Mutex
	queue     []*port.ActionRun
	queued    map[string]bool
	perAction map[string]int
	wake      chan struct{}
	followers sync.WaitGroup
	// runCtx is Run's context: followers stop with the processor, not
	// with the run's execution.
	runCtx context.Context
}

// ProcessorOptions tune a Processor; a zero field takes its default.
type ProcessorOptions struct {
	Settings Settings
	// Follow polls GitLab for each triggered pipeline until it ends and
	// reports its status: for a daemon without appHost, to which no
	// Pipeline Hook is delivered. FollowInterval is the time between
	// polls (default 10s).
	Follow         bool
	FollowInterval time.Duration
	// RateLimit, when set, is GitLab's rate-limit window of the token
	// that would run the run's action (see gitlab.Client.RateLimitWindow):
	// below minRemaining requests left, the run waits before its ack, as
	// in Ocean.
	RateLimit func(run *port.ActionRun, now time.Time) (remaining int, reset time.Time, ok bool)
	// Log defaults to slog.Default().
	Log *slog.Logger
}

// NewProcessor returns a processor that claims runs from Port and
// resolves their projects with projects, with o's defaults settled once
// here.
func NewProcessor(port Port, projects Projects, o ProcessorOptions) *Processor {
	o.Settings = o.Settings.withDefaults()
	if o.FollowInterval <= 0 {
		o.FollowInterval = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Processor{port: port, projects: projects, ProcessorOptions: o,
		queued: map[string]bool{}, perAction: map[string]int{}, wake: make(chan struct{}, 1)}
}

// executors are the integration action types this integration runs
// (payload.integrationActionType).
var executors = map[string]func(p *Processor, ctx context.Context, run *port.ActionRun) error{
	triggerPipelineType: (*Processor).triggerPipeline,
}

// Run polls and executes until ctx ends, then waits for the runs being
// executed (their GitLab calls and Port reports) and the pipelines being
// followed to stop. Runs claimed but not acknowledged are left: their
// lease ends and any replica claims them again.
func (p *Processor) Run(ctx context.Context) {
	p.mu.Lock()
	p.runCtx = ctx
	p.mu.Unlock()
	var wg sync.WaitGroup
	for range p.Settings.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work(ctx)
		}()
	}
	p.poll(ctx)
	wg.Wait()
	p.followers.Wait()
}

// poll is Ocean's poll loop: claim as many runs as the buffer has room
// for, excluding the actions that hold their share of it; sleep only
// when nothing came.
func (p *Processor) poll(ctx context.Context) {
	for ctx.Err() == nil {
		size, exclude := p.load()
		if size >= p.Settings.HighWatermark {
			_ = retry.Sleep(ctx, p.Settings.PollInterval)
			continue
		}
		runs, err := p.port.ClaimPendingRuns(ctx, port.ClaimRequest{Limit: p.Settings.HighWatermark - size,
			VisibilityTimeoutMs: int(p.Settings.VisibilityTimeout.Milliseconds()), Exclude: exclude})
		if err != nil {
			if ctx.Err() == nil {
				p.Log.Error("actions: claiming pending runs failed; trying again after the poll interval", "error", err, "in", p.Settings.PollInterval)
			}
			_ = retry.Sleep(ctx, p.Settings.PollInterval)
			continue
		}
		if len(runs) == 0 {
			_ = retry.Sleep(ctx, p.Settings.PollInterval)
			continue
		}
		for i := range runs {
			run := &runs[i]
			if _, ok := executors[run.Type()]; !ok {
				p.failWithoutExecutor(ctx, run)
				continue
			}
			p.enqueue(run)
		}
	}
}

// load is the number of runs waiting locally and the actions holding
// their share of the buffer (max(1, watermark × pct / 100)).
func (p *Processor) load() (int, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	limit := max(1, p.Settings.HighWatermark*p.Settings.MaxPctPerAction/100)
	var exclude []string
	for a, n := range p.perAction {
		if n >= limit {
			exclude = append(exclude, a)
		}
	}
	slices.Sort(exclude)
	return len(p.queue), exclude
}

// enqueue adds a run unless it is already waiting (the same run claimed
// twice, in one batch or after its lease ended while it waited).
func (p *Processor) enqueue(run *port.ActionRun) {
	p.mu.Lock()
	if p.queued[run.ID] {
		p.mu.Unlock()
		p.Log.Debug("actions: run already waiting; skipped", "run", run.ID)
		return
	}
	p.queued[run.ID] = true
	p.perAction[run.Action.Identifier]++
	p.queue = append(p.queue, run)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// dequeue takes the oldest waiting run, nil when none. The run leaves
// the dedupe set now, as in Ocean: a claim of it during its execution is
// refused by the ack.
func (p *Processor) dequeue() *port.ActionRun {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		return nil
	}
	run := p.queue[0]
	p.queue = p.queue[1:]
	delete(p.queued, run.ID)
	if p.perAction[run.Action.Identifier]--; p.perAction[run.Action.Identifier] <= 0 {
		delete(p.perAction, run.Action.Identifier)
	}
	if len(p.queue) > 0 {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	return run
}

func (p *Processor) work(ctx context.Context) {
	for {
		run := p.dequeue()
		if run == nil {
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
			case <-time.After(time.Second):
			}
			continue
		}
		p.execute(ctx, run)
	}
}

// execute acknowledges run and runs its executor; a failure is logged to
// the run and fails it.
func (p *Processor) execute(ctx context.Context, run *port.ActionRun) {
	log := p.Log.With("run", run.ID, "action", run.Action.Identifier, "type", run.Type())
	p.waitRateLimit(ctx, run)
	if p.beforeAck != nil {
		p.beforeAck(ctx, run)
	}
	if ctx.Err() != nil {
		return // shutting down: not acknowledged, its lease ends and it is claimed again
	}
	if err := p.port.AckRun(ctx, run.ID); err != nil {
		if errors.Is(err, port.ErrRunAcknowledged) {
			log.Info("actions: run already being processed by another worker; skipped")
			return
		}
		log.Error("actions: acknowledging the run failed; not executed (claimable again once its lease ends)", "error", err)
		return
	}
	// Acknowledged: the run is ours alone, finished even if we are asked
	// to stop.
	exec, cancel := context.WithTimeout(context.WithoutCancel(ctx), execTimeout)
	defer cancel()
	err := executors[run.Type()](p, exec, run)
	if err == nil {
		return
	}
	summary := "Failed to execute run: " + err.Error()
	log.Warn("actions: run failed", "error", err)
	p.report(exec, run.ID, summary, false)
}

// Ocean's executor rate-limit gate (abstract_gitlab_executor.py,
// execution_manager.py): a run waits while its token has fewer than
// minRemaining requests left, at most maxBackoff at a time, logging each
// wait to the run.
const (
	minRemaining = 20
	maxBackoff   = 10 * time.Second
)

// waitRateLimit holds run before its ack while its token is close to
// GitLab's rate limit; shutting down ends the wait (and the run is not
// acknowledged).
func (p *Processor) waitRateLimit(ctx context.Context, run *port.ActionRun) {
	if p.RateLimit == nil {
		return
	}
	for ctx.Err() == nil {
		now := time.Now()
		remaining, reset, ok := p.RateLimit(run, now)
		if !ok || remaining >= minRemaining {
			return
		}
		wait := min(maxBackoff, max(0, reset.Sub(now)))
		secs := "10"
		if wait < maxBackoff {
			secs = pyFloat(wait.Seconds())
		}
		p.logRun(ctx, run.ID, "Delayed due to low remaining rate limit. Will attempt to re-run in "+secs+" seconds")
		_ = retry.Sleep(ctx, wait)
	}
}

// failWithoutExecutor acks a run of a type nothing executes and fails it,
// as Ocean does; a 409 means another replica has it.
func (p *Processor) failWithoutExecutor(ctx context.Context, run *port.ActionRun) {
	if err := p.port.AckRun(ctx, run.ID); err != nil {
		if !errors.Is(err, port.ErrRunAcknowledged) {
			p.Log.Error("actions: acknowledging a run without executor failed", "run", run.ID, "error", err)
		}
		return
	}
	p.report(context.WithoutCancel(ctx), run.ID, "No executor registered for action type '"+run.Type()+"'", false)
}

// report posts message to the run's log (when not empty) and sets its
// final status (Ocean's report_run_completed, errors logged only).
func (p *Processor) report(ctx context.Context, runID, message string, success bool) {
	if message != "" {
		p.logRun(ctx, runID, message)
	}
	status := port.RunFailure
	if success {
		status = port.RunSuccess
	}
	if err := p.port.PatchRun(ctx, runID, port.RunPatch{Status: status}); err != nil {
		p.Log.Error("actions: reporting the run's status to Port failed", "run", runID, "status", status, "error", err)
	}
}

// logRun posts a line to the run's log; a failure is logged here only.
func (p *Processor) logRun(ctx context.Context, runID, message string) {
	if err := p.port.PostRunLog(ctx, runID, message); err != nil {
		p.Log.Warn("actions: posting to the run's log failed", "run", runID, "error", err)
	}
}
