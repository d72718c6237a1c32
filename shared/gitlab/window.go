package gitlab

import "time"

// RateLimitWindow is what GitLab last announced for this token's rate
// limit (RateLimit-Remaining, less the requests sent since, and
// RateLimit-Reset); ok is false before any announcement or once that
// window is over. A Port action run waits on it before it is
// acknowledged, as Ocean's executors do.
func (c *Client) RateLimitWindow(now time.Time) (remaining int, reset time.Time, ok bool) {
	p := c.gate.pace
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reset.IsZero() || !p.reset.After(now) {
		return 0, time.Time{}, false
	}
	return max(0, p.remaining-p.sent), p.reset, true
}
