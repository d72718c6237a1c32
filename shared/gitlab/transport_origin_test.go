package gitlab

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/origin"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestTransportSendsNothingToAnotherOrigin is the second guard behind
// CheckRedirect: whatever hands the transport a request for another
// origin (a redirect, a URL read from an answer), it is not sent, so the
// token it carries stays home.
func TestTransportSendsNothingToAnotherOrigin(t *testing.T) {
	base, _ := url.Parse("https://gitlab.example.com")
	sent := 0
	opts := Options{MaxConcurrent: 1, ConcurrencyCeiling: 1, MaxWait: time.Second}
	tr := &transport{gate: newGate(opts), stats: &Stats{}, timeout: time.Second, origin: origin.Of(base),
		next: roundTripFunc(func(*http.Request) (*http.Response, error) { sent++; return nil, http.ErrHandlerTimeout })}
	for _, u := range []string{"http://gitlab.example.com/api/v4/user", "https://gitlab.example.com:8443/api/v4/user", "https://evil.gitlab.example.com/api/v4/user", "https://evil.example/api/v4/user"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("PRIVATE-TOKEN", "glpat-QXbeg-Ev9xtu5_5FsaAQ")
		_, err := tr.RoundTrip(req)
		if err == nil || !strings.Contains(err.Error(), "not the configured GitLab (https://gitlab.example.com)") || strings.Contains(err.Error(), "glpat-QXbeg") {
			t.Errorf("%s: error %v", u, err)
		}
	}
	if sent != 0 {
		t.Fatalf("%d request(s) sent to another origin", sent)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://GitLab.example.com:443/api/v4/user", nil)
	if _, err := tr.RoundTrip(req); err == nil || sent != 1 {
		t.Fatalf("a request for the origin (another spelling) was not sent: %v, sent %d", err, sent)
	}
}
