package webhook

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glsync/terraform-provider-glsync/daemon/metrics"
)

// The webhook listener's limits. Anyone who can reach the port can open a
// connection and send headers before any secret is checked, so what a
// connection may make the daemon hold is bounded here, not in the handler.
const (
	// MaxHeaderBytes bounds a request's line and headers; above it Go's
	// server answers 431 and closes the connection. GitLab's delivery
	// headers are under 2 KB; a proxy in front adds a few hundred bytes.
	// Go's default (1 MiB) let each unauthenticated connection hold a
	// megabyte until ReadHeaderTimeout.
	MaxHeaderBytes = 32 << 10
	// ReadHeaderTimeout bounds the time to send the request line and
	// headers, which GitLab sends at once: a connection that stalls
	// holds its slot no longer than this.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds reading a whole delivery: 25 MB over a slow link.
	ReadTimeout = time.Minute
	// IdleTimeout closes a kept-alive connection waiting for its next
	// request. Longer than the 60 s after which common load balancers and
	// ingress controllers drop an idle upstream connection, so the proxy
	// closes first and never sends a delivery on a connection glsyncd is
	// closing (a 502 for GitLab).
	IdleTimeout = 75 * time.Second
)

// NewServer is the http.Server for the webhook listener, with the limits
// above.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, MaxHeaderBytes: MaxHeaderBytes,
		ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout, IdleTimeout: IdleTimeout}
}

// LimitConnections wraps l so that at most max accepted connections are
// open at once. A connection accepted beyond that is closed at once, with
// a reset and nothing read, counted in m.ConnectionsRefused and logged at
// most once a minute.
//
// It refuses rather than blocking Accept (as netutil.LimitListener does):
// a blocked Accept leaves the excess in the kernel's accept queue, where
// their bytes still fill socket buffers (memory the pod is charged for),
// a legitimate delivery waits behind a flood without anything showing it
// until GitLab's 10 s timeout, and nothing is counted. A reset is
// immediate, costs nothing to hold, and GitLab records a failed delivery
// it can resend (glsyncd resumes a hook GitLab pauses and resyncs what it
// missed).
func LimitConnections(l net.Listener, max int, m *metrics.Metrics, log *slog.Logger) net.Listener {
	if m == nil {
		m = metrics.Discard()
	}
	if log == nil {
		log = slog.Default()
	}
	return &limitListener{Listener: l, max: int64(max), metrics: m, log: log}
}

type limitListener struct {
	net.Listener
	max     int64
	metrics *metrics.Metrics
	log     *slog.Logger

	open atomic.Int64
	// warnMu guards the refusal log's state: one line a minute, with the
	// number refused since the last.
	warnMu     sync.Mutex
	warnedAt   time.Time
	suppressed int
}

// Accept returns the next connection under the cap, closing the ones over
// it as they come.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Add(1) > l.max {
			l.open.Add(-1)
			l.refuse(c)
			continue
		}
		l.metrics.ConnectionsOpen.Inc()
		return &limitConn{Conn: c, release: l.release}, nil
	}
}

func (l *limitListener) release() {
	l.open.Add(-1)
	l.metrics.ConnectionsOpen.Dec()
}

// refuse closes c with a reset: no FIN handshake and no TIME_WAIT left on
// this side, so a flood of refusals holds nothing.
func (l *limitListener) refuse(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
	l.metrics.ConnectionsRefused.Inc()
	l.warnMu.Lock()
	now := time.Now()
	if !l.warnedAt.IsZero() && now.Sub(l.warnedAt) < warnEvery {
		l.suppressed++
		l.warnMu.Unlock()
		return
	}
	suppressed := l.suppressed
	l.warnedAt, l.suppressed = now, 0
	l.warnMu.Unlock()
	l.log.Warn("webhook: connection refused: webhookMaxConnections connections are open (a flood, or raise the setting); GitLab sees a failed delivery",
		"max", l.max, "remote", c.RemoteAddr().String(), "suppressed_since_last", suppressed, "repeats_suppressed_for", warnEvery.String())
}

// limitConn gives its slot back when it is closed, once.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite lets Go's server half-close the connection after a 431 (or
// another error answer) so the client reads the answer before the reset
// its unread bytes cause; without it the server would skip that step.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
