package webhook

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/daemon/metrics"
)

// value is the one sample of the counter or gauge name in m.
func value(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			if c := mf.GetMetric()[0].GetCounter(); c != nil {
				return c.GetValue()
			}
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// Connections beyond the cap are closed unread and counted; closing one
// under the cap (twice, as a server may) frees exactly one slot.
func TestLimitConnectionsRefusesOverTheCap(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(func() float64 { return 0 }, nil)
	l := LimitConnections(inner, 2, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5 s", what)
			}
		}
	}
	dial()
	dial()
	a, b := <-accepted, <-accepted
	// The reset may come before the dial returns.
	over, err := net.Dial("tcp", inner.Addr().String())
	if err == nil {
		defer over.Close()
		_ = over.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := over.Read(make([]byte, 1)); err == nil || n != 0 {
			t.Fatalf("over the cap: read %d bytes, %v; want the connection closed", n, err)
		}
	} else if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatal(err)
	}
	wait("refusal counted", func() bool { return value(t, m, "glsync_webhook_connections_refused_total") == 1 })
	if got := value(t, m, "glsync_webhook_connections_open"); got != 2 {
		t.Fatalf("open: %v", got)
	}
	a.Close()
	a.Close()
	if got := value(t, m, "glsync_webhook_connections_open"); got != 1 {
		t.Fatalf("open after one close (twice): %v", got)
	}
	dial()
	c := <-accepted
	if value(t, m, "glsync_webhook_connections_refused_total") != 1 {
		t.Fatal("a connection under the cap was refused")
	}
	b.Close()
	c.Close()
	if got := value(t, m, "glsync_webhook_connections_open"); got != 0 {
		t.Fatalf("open at the end: %v", got)
	}
}

// NewServer states every limit: a zero would mean Go's default (1 MiB of
// headers) or no timeout at all.
func TestNewServerLimits(t *testing.T) {
	s := NewServer(http.NotFoundHandler())
	if s.MaxHeaderBytes != 32<<10 || s.ReadHeaderTimeout != 10*time.Second || s.ReadTimeout != time.Minute || s.IdleTimeout != 75*time.Second {
		t.Fatalf("server limits: headers %d, header timeout %v, read timeout %v, idle timeout %v", s.MaxHeaderBytes, s.ReadHeaderTimeout, s.ReadTimeout, s.IdleTimeout)
	}
}
