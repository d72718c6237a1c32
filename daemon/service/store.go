package service

import (
	"context"
	"time"

	"github.com/glsync/terraform-provider-glsync/daemon/console"
	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// Each part of the service depends on the few methods of the store it
// uses, declared here (as alertmanager's notify stages declare theirs),
// not on the whole catalog.Backend: what a part needs is then read from
// the type of its field, and a fake for it is small.
// Start opens the store and hands each part its view (useStore); only
// Store gives the whole value back, to tests and the demo. The parts in
// other packages declare their own (events.Worker a catalog.Queue,
// webhook.Receiver a catalog.Queue and catalog.Secrets, the Port sink a
// catalog.Mirror, resync.Run a catalog.Store, the console a
// catalog.Browser and console.DeadLetters), and Start passes each the
// store as the interface it takes.

// queueStats is what the probes, /status, the metrics and the console's
// overview read of the event queue.
type queueStats interface {
	Depth(ctx context.Context) (int, error)
	OldestQueued(ctx context.Context) (time.Time, error)
	DeadLetters(ctx context.Context) (int, error)
}

// hookSecrets is what hook reconciliation and the admin API's hook-secret
// routes use: the secrets, and which scopes have one (the receiver's
// scopes).
type hookSecrets interface {
	catalog.Secrets
	HookScopes(ctx context.Context) ([]string, error)
}

// resyncTarget is what a resync writes when there is no Port sink: the
// catalog, and a few raw objects per kind for mapping tests.
type resyncTarget interface {
	catalog.Store
	PutExamples(ctx context.Context, kind string, examples []byte) error
}

// projectEntities is what event processing reads of the catalog
// (events.Processor's Entities): the entities a project's destruction
// deletes, and who owns entities a GitOps spec file claims.
type projectEntities interface {
	ProjectKeys(ctx context.Context, id int64) ([]catalog.Key, error)
	catalog.Owners
}

// receiverStore is what the webhook receiver is given (its Queue and
// Secrets): it queues deliveries and checks them against hook secrets.
type receiverStore interface {
	catalog.Queue
	catalog.Secrets
}

// maintainer is what the leader's maintenance loop asks of the store.
type maintainer interface {
	Maintain(ctx context.Context, o catalog.Retention) (catalog.Maintenance, error)
}

// storeViews are the opened store as each part of the service sees it.
type storeViews struct {
	// backend is the store, whole, for Store alone.
	backend catalog.Backend
	coord   catalog.Coordination
	// records are the daemon's settings: the token mappings of the admin
	// API, the resync records and requests, which hooks sign.
	records catalog.Settings
	queue   queueStats
	// deadLetters are what the console's operator acts on.
	deadLetters console.DeadLetters
	secrets     hookSecrets
	target      resyncTarget
	maintainer  maintainer
	// catalogBrowser is what the console browses without a Port sink.
	catalogBrowser catalog.Browser
}

// useStore gives each part of the service its view of b.
func (s *Service) useStore(b catalog.Backend) {
	s.storeViews = storeViews{backend: b, coord: b.Coordination(), records: b, queue: b, deadLetters: b, secrets: b, target: b,
		maintainer: b, catalogBrowser: b}
}
