package gitlabtest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// Faults are injected into every request.
type Faults struct {
	// Latency is added before each answer.
	Latency time.Duration
	// ErrorRate is the fraction of requests answered 500, 502 or 503.
	ErrorRate float64
	// ErrorBurst, when set, limits ErrorRate to the first that many
	// requests after the faults were set: a burst that ends after a number
	// of requests rather than a time, so it hits the same requests however
	// slow the machine is.
	ErrorBurst int
	// ResetRate is the fraction of connections closed without an answer.
	ResetRate float64
	// TooManyRate is the fraction of requests answered 429 regardless of
	// the rate limit (a "429 storm").
	TooManyRate float64
	// FailRoutes answers the given status on every request to a route,
	// keyed like the counters, e.g. "GET /projects".
	FailRoutes map[string]int
	// FailPaths answers the given status on every request to one path,
	// e.g. "GET /projects/7/search": one project refusing while the
	// others answer.
	FailPaths map[string]int
	// RouteLatency adds latency to one route, e.g. "GET /projects/:id".
	RouteLatency map[string]time.Duration
	// TokenStorms answer 429 to the requests of one token (keyed by its
	// value) while other tokens go on: GitLab throttles per user, and a
	// throttle with a long period (an admin can set the authenticated API
	// "rate limit period" to an hour) sends a Retry-After far beyond a
	// minute.
	TokenStorms map[string]Storm
	// SlowRate is the fraction of successful answers that stall: the
	// status, the headers and half the body are sent, the rest only after
	// SlowDelay (an overloaded worker or a stalled proxy).
	SlowRate  float64
	SlowDelay time.Duration
	// TruncateRate is the fraction of successful JSON answers cut short:
	// the status and a Content-Length for the whole body are sent, then
	// half the body, then the connection is closed.
	TruncateRate float64
	// BodyResetRate is the fraction of successful JSON answers whose
	// connection is reset (RST) after half the body was sent.
	BodyResetRate float64
	// Down answers 503 to every request, before authentication, as the
	// load balancer in front of a GitLab that is down or in maintenance
	// does.
	Down bool
	// RevokeAfter revokes a token (keyed by its value) once it has made
	// that many requests since the faults were set: its next requests get
	// GitLab's 401, as after a revocation in the UI. The revocation stays
	// when the faults change (see RevokeToken).
	RevokeAfter map[string]int
}

// Storm is a 429 storm on one token (see Faults.TokenStorms).
type Storm struct {
	// Rate is the fraction of the token's requests answered 429; 1 for
	// every request.
	Rate float64
	// RetryAfter is sent in Retry-After (whole seconds, at least 1) and as
	// the RateLimit-Reset of a used-up limit.
	RetryAfter time.Duration
}

// revokeDue counts a request of token and reports whether f revokes the
// token now (it has used up its RevokeAfter requests).
func (s *Server) revokeDue(f Faults, token string) bool {
	n, ok := f.RevokeAfter[token]
	if !ok {
		return false
	}
	s.faultM.Lock()
	defer s.faultM.Unlock()
	if s.used == nil {
		s.used = map[string]int{}
	}
	s.used[token]++
	return s.used[token] > n
}

// writeStorm answers 429 the way GitLab's throttle does, with the wait
// of a storm.
func writeStorm(w http.ResponseWriter, st Storm) {
	secs := int(st.RetryAfter / time.Second)
	if secs < 1 {
		secs = 1
	}
	reset := time.Now().Add(time.Duration(secs) * time.Second)
	h := w.Header()
	h.Set("RateLimit-Name", "throttle_authenticated_api")
	h.Set("RateLimit-Remaining", "0")
	h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("RateLimit-ResetTime", reset.UTC().Format(http.TimeFormat))
	h.Set("Retry-After", strconv.Itoa(secs))
	h.Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte("Retry later\n"))
}

// bodyFault is what happens to the body of a successful answer.
type bodyFault int

const (
	bodyIntact bodyFault = iota
	bodySlow
	bodyTruncated
	bodyReset
)

// replay sends the answer recorded in rec with a body fault. Answers that
// are not successes (and, for cuts, not JSON) are sent intact: the faults
// are about a good answer that does not arrive whole.
func replay(w http.ResponseWriter, r *http.Request, rec *httptest.ResponseRecorder, fault bodyFault, delay time.Duration) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	body := rec.Body.Bytes()
	ok := rec.Code >= 200 && rec.Code < 300 && len(body) > 1
	if fault != bodySlow {
		ok = ok && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json")
	}
	if !ok {
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	half := len(body) / 2
	_, _ = w.Write(body[:half])
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	switch fault {
	case bodySlow:
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write(body[half:])
	case bodyTruncated:
		if conn := hijack(w); conn != nil {
			_ = conn.Close()
		}
	case bodyReset:
		resetConnection(w)
	}
}

// hijack takes the connection over from the server, or returns nil.
func hijack(w http.ResponseWriter) net.Conn {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return nil
	}
	return conn
}

func resetConnection(w http.ResponseWriter) {
	conn := hijack(w)
	if conn == nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST instead of FIN, like a dropped proxy connection
	}
	_ = conn.Close()
}
