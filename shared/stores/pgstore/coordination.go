package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/retry"
)

// session is this replica's dedicated connection. It holds the replica's
// presence lock (so the events it claimed return to the queue the moment
// it dies) and, on the leader, the leader lock. A watchdog pings it every
// second; when it fails, leadership ends at once (the lead context is
// cancelled) and the next use reconnects.
type session struct {
	s *Store

	mu         sync.Mutex
	conn       *pgx.Conn
	pid        uint32
	leading    bool
	leadCancel context.CancelFunc
	watching   bool
	closed     bool
	stop       chan struct{}
}

// pingEvery and pingTimeout bound how long a leader can go on after its
// connection failed.
const (
	pingEvery   = time.Second
	pingTimeout = 2 * time.Second
)

// present makes sure the session is connected and registered.
func (se *session) present(ctx context.Context) error {
	se.mu.Lock()
	defer se.mu.Unlock()
	return se.connectLocked(ctx)
}

func (se *session) connectLocked(ctx context.Context) error {
	if se.closed {
		return errors.New("catalog: closed")
	}
	if se.conn != nil {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, se.s.connCfg.Copy())
	if err != nil {
		return fmt.Errorf("catalog: replica session: %w", err)
	}
	fail := func(err error) error {
		conn.Close(context.Background())
		return fmt.Errorf("catalog: replica session: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(cctx, `SELECT pg_try_advisory_lock($1, $2)`, replicaClass, se.s.instance).Scan(&ok); err != nil {
		return fail(err)
	}
	if !ok {
		return fail(fmt.Errorf("instance id %d is in use", se.s.instance))
	}
	pid := conn.PgConn().PID()
	if _, err := conn.Exec(cctx, `INSERT INTO replicas(instance, name, pid, started_ns) VALUES($1, $2, $3, $4)
		ON CONFLICT(instance) DO UPDATE SET pid = excluded.pid`, se.s.instance, se.s.replica, int64(pid), time.Now().UnixNano()); err != nil {
		return fail(err)
	}
	// Forget replicas that are gone.
	if _, err := conn.Exec(cctx, `DELETE FROM replicas r WHERE NOT EXISTS (SELECT 1 FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.classid = $1::bigint::oid AND l.objid = r.instance::oid AND l.objsubid = 2 AND l.granted)`, replicaClass); err != nil {
		return fail(err)
	}
	se.conn, se.pid = conn, pid
	if !se.watching {
		se.watching = true
		se.stop = make(chan struct{})
		go se.watch()
	}
	return nil
}

// dropLocked closes a failed connection: leadership ends first.
func (se *session) dropLocked() {
	if se.leading {
		se.leading = false
		se.leadCancel()
	}
	if se.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		se.conn.Close(ctx)
		cancel()
		se.conn, se.pid = nil, 0
	}
}

func (se *session) watch() {
	t := time.NewTicker(pingEvery)
	defer t.Stop()
	for {
		select {
		case <-se.stop:
			return
		case <-t.C:
		}
		se.mu.Lock()
		if se.conn != nil {
			ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
			if err := se.conn.Ping(ctx); err != nil {
				se.dropLocked()
			}
			cancel()
		}
		se.mu.Unlock()
	}
}

func (se *session) close() {
	se.mu.Lock()
	defer se.mu.Unlock()
	if se.closed {
		return
	}
	se.dropLocked()
	se.closed = true
	if se.watching {
		close(se.stop)
	}
}

// leaderPID is the backend pid holding leadership, 0 when not leading.
func (se *session) leaderPID() int64 {
	se.mu.Lock()
	defer se.mu.Unlock()
	if !se.leading {
		return 0
	}
	return int64(se.pid)
}

// tryLead takes the leader lock if it is free.
func (se *session) tryLead(ctx context.Context) (context.Context, func(), bool, error) {
	se.mu.Lock()
	defer se.mu.Unlock()
	if err := se.connectLocked(ctx); err != nil {
		return nil, nil, false, err
	}
	if se.leading {
		return nil, nil, false, errors.New("catalog: this replica already leads")
	}
	var ok bool
	qctx, cancel := context.WithTimeout(ctx, pingTimeout)
	err := se.conn.QueryRow(qctx, `SELECT pg_try_advisory_lock($1, $2)`, lockClass, lockLeader).Scan(&ok)
	cancel()
	if err != nil {
		se.dropLocked()
		return nil, nil, false, fmt.Errorf("catalog: leader election: %w", err)
	}
	if !ok {
		return nil, nil, false, nil
	}
	lead, leadCancel := context.WithCancel(ctx)
	se.leading, se.leadCancel = true, leadCancel
	conn := se.conn
	release := func() {
		se.mu.Lock()
		defer se.mu.Unlock()
		if se.leading && se.conn == conn {
			se.leading = false
			se.leadCancel()
			uctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
			if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1, $2)`, lockClass, lockLeader); err != nil {
				se.dropLocked() // the server drops the lock with the connection
			}
			cancel()
		}
	}
	return lead, release, true, nil
}

type coordination struct{ s *Store }

// Coordination returns the replicas' coordination through PostgreSQL.
func (s *Store) Coordination() catalog.Coordination { return coordination{s} }

func (c coordination) Replica() string { return c.s.replica }

// Lead polls for the leader lock every second: when the leader dies its
// lock goes with its connection and another replica takes it within a
// second or two.
func (c coordination) Lead(ctx context.Context) (context.Context, func(), error) {
	var lead context.Context
	var release func()
	// A failed attempt (database unreachable) is tried again, as one that
	// found another leader is: only ctx ends the poll.
	if leadPoll.Do(ctx, nil, func() error {
		var ok bool
		if lead, release, ok, _ = c.s.sess.tryLead(ctx); !ok {
			return errNotLeading
		}
		return nil
	}) != nil {
		return nil, nil, ctx.Err()
	}
	return lead, release, nil
}

// leadPoll is how often Lead asks for the leader lock: every second, for
// as long as it takes.
var leadPoll = retry.Policy{Base: time.Second, Max: time.Second}

// errNotLeading is a Lead attempt that did not get the lock.
var errNotLeading = errors.New("catalog: another replica leads")

func (c coordination) TryLead(ctx context.Context) (context.Context, func(), string, bool, error) {
	lead, release, ok, err := c.s.sess.tryLead(ctx)
	if err != nil || ok {
		return lead, release, c.s.replica, ok, err
	}
	leader, err := c.Leader(ctx)
	return nil, nil, leader, false, err
}

// liveReplica is a replica row whose process still holds its presence
// lock (from the same backend, as pids are reused).
var liveReplica = fmt.Sprintf(`EXISTS (SELECT 1 FROM pg_locks p WHERE p.locktype = 'advisory' AND p.pid = r.pid
	AND p.classid = %d::oid AND p.objid = r.instance::oid AND p.objsubid = 2 AND p.granted)`, replicaClass)

func (c coordination) Leader(ctx context.Context) (string, error) {
	var name string
	err := c.s.pool.QueryRow(ctx, `SELECT r.name FROM replicas r JOIN pg_locks l ON l.pid = r.pid
		WHERE l.locktype = 'advisory' AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 2 AND l.granted
		AND `+liveReplica+` LIMIT 1`, lockClass, lockLeader).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("catalog: leader: %w", err)
	}
	return name, nil
}

func (c coordination) Replicas(ctx context.Context) ([]string, error) {
	rows, err := c.s.pool.Query(ctx, `SELECT r.name FROM replicas r WHERE `+liveReplica+` ORDER BY r.name COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("catalog: replicas: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("catalog: replicas: %w", err)
	}
	return out, nil
}

func (c coordination) RequestResync(ctx context.Context, why string) (bool, error) {
	tag, err := c.s.pool.Exec(ctx, `INSERT INTO resync_requests(why, requested_ns)
		SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM resync_requests)`, why, time.Now().UnixNano())
	if err != nil {
		return false, fmt.Errorf("resync request: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

func (c coordination) TakeResyncRequest(ctx context.Context) (string, bool, error) {
	var why string
	found := false
	err := c.s.tx(ctx, "resync request", func(tx pgx.Tx) error {
		found = false
		err := tx.QueryRow(ctx, `SELECT why FROM resync_requests ORDER BY id LIMIT 1 FOR UPDATE`).Scan(&why)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		_, err = tx.Exec(ctx, `DELETE FROM resync_requests`)
		return err
	})
	return why, found, err
}

func (c coordination) ReleaseOrphanedLeases(ctx context.Context) error {
	if _, err := c.s.pool.Exec(ctx, `UPDATE events SET lease_ns = 0, lease_owner = 0 WHERE lease_owner <> 0 AND lease_owner NOT IN (
		SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::bigint::oid AND objsubid = 2 AND granted)`, replicaClass); err != nil {
		return fmt.Errorf("queue: release leases: %w", err)
	}
	return nil
}
