// Rate limiting: GitLab's per-token fixed windows and RateLimit-* headers.

package gitlabtest

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

type window struct {
	start time.Time
	used  int
}

// SetRateLimit changes the per-token rate limit.
func (s *Server) SetRateLimit(perWindow int, period time.Duration) {
	s.rateM.Lock()
	s.opts.RateLimit, s.opts.RateWindow = perWindow, period
	s.windows = map[string]*window{}
	s.rateM.Unlock()
}

// admitRate applies the per-token fixed-window limit and sets GitLab's
// RateLimit-* headers. forced answers 429 even under the limit.
//
// As GitLab's throttles (Rack::Attack, Gitlab::RackAttack's
// throttled_response_headers): windows are aligned to multiples of the
// period since the Unix epoch, so RateLimit-Reset (Unix seconds) is the
// exact end of the window; RateLimit-Limit is the quota per minute,
// rounded up, whatever the period; RateLimit-Remaining is what is left
// of the window's own quota. The headers go on every counted answer, as
// GitLab.com sends them.
func (s *Server) admitRate(w http.ResponseWriter, token string, forced bool) bool {
	s.rateM.Lock()
	limit, period := s.opts.RateLimit, s.opts.RateWindow
	if limit <= 0 && !forced {
		s.rateM.Unlock()
		return true
	}
	now := time.Now()
	start := time.Unix(0, now.UnixNano()/int64(period)*int64(period))
	win := s.windows[token]
	if win == nil || !win.start.Equal(start) {
		win = &window{start: start}
		s.windows[token] = win
	}
	win.used++
	used := win.used
	reset := win.start.Add(period)
	s.rateM.Unlock()

	h := w.Header()
	over := limit > 0 && used > limit
	if limit > 0 {
		remaining := limit - used
		if remaining < 0 {
			remaining = 0
		}
		perMinute := int(math.Ceil(float64(limit) * float64(time.Minute) / float64(period)))
		h.Set("RateLimit-Name", "throttle_authenticated_api")
		h.Set("RateLimit-Limit", strconv.Itoa(perMinute))
		h.Set("RateLimit-Observed", strconv.Itoa(used))
		h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("RateLimit-ResetTime", reset.UTC().Format(http.TimeFormat))
	}
	if !over && !forced {
		return true
	}
	retry := int(time.Until(reset).Seconds() + 0.999)
	if forced || retry < 1 {
		retry = 1
	}
	h.Set("Retry-After", strconv.Itoa(retry))
	h.Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte("Retry later\n"))
	return false
}
