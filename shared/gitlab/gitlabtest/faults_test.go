package gitlabtest

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// rawGet sends one GET on a fresh connection and reads the whole body,
// returning the read error instead of failing.
func rawGet(t *testing.T, url, token string) (*http.Response, []byte, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("PRIVATE-TOKEN", token)
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// TestBodyFaults: truncated and reset answers keep their 200 and the full
// Content-Length, and stop half-way; slow ones arrive whole after the
// delay; answers that are not successes are left alone.
func TestBodyFaults(t *testing.T) {
	s, org, api := setup(t, 30)
	_, whole, err := rawGet(t, api+"/projects", org.AdminToken)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Faults{{TruncateRate: 1}, {BodyResetRate: 1}} {
		s.SetFaults(f)
		resp, b, err := rawGet(t, api+"/projects", org.AdminToken)
		if resp == nil {
			t.Fatalf("%+v: no answer: %v", f, err)
		}
		if err == nil || resp.StatusCode != 200 || resp.Header.Get("Content-Length") != strconv.Itoa(len(whole)) || len(b) != len(whole)/2 {
			t.Fatalf("%+v: status %d, Content-Length %q, read %d of %d, err %v", f, resp.StatusCode, resp.Header.Get("Content-Length"), len(b), len(whole), err)
		}
		if f.TruncateRate == 1 && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("a cut body should read as unexpected EOF: %v", err)
		}
		// A 404 is sent whole.
		if resp, _, err := rawGet(t, api+"/projects/999999", org.AdminToken); err != nil || resp.StatusCode != 404 {
			t.Fatalf("%+v: a 404 was cut: %v", f, err)
		}
	}
	s.SetFaults(Faults{SlowRate: 1, SlowDelay: 200 * time.Millisecond})
	start := time.Now()
	if _, b, err := rawGet(t, api+"/projects", org.AdminToken); err != nil || len(b) != len(whole) || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("slow: read %d of %d in %v, err %v", len(b), len(whole), time.Since(start), err)
	}
}

// TestTokenFaults: a storm answers 429 to one token only, with its
// Retry-After; RevokeAfter lets a token make that many requests, then it
// gets 401 for good; Down answers 503 before authentication; ErrorBurst
// ends the errors after that many requests.
func TestTokenFaults(t *testing.T) {
	s, org, api := setup(t, 5)
	s.SetFaults(Faults{TokenStorms: map[string]Storm{org.RootTokens[0]: {Rate: 1, RetryAfter: 1200 * time.Second}}})
	resp, _, _ := rawGet(t, api+"/user", org.RootTokens[0])
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1200" || resp.Header.Get("RateLimit-Remaining") != "0" {
		t.Fatalf("storm: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _, _ := rawGet(t, api+"/user", org.RootTokens[1]); resp.StatusCode != 200 {
		t.Fatalf("the other token: %d", resp.StatusCode)
	}

	s.SetFaults(Faults{RevokeAfter: map[string]int{org.RootTokens[0]: 2}})
	for i, want := range []int{200, 200, 401, 401} {
		if resp, _, _ := rawGet(t, api+"/user", org.RootTokens[0]); resp.StatusCode != want {
			t.Fatalf("request %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	s.SetFaults(Faults{})
	if resp, _, _ := rawGet(t, api+"/user", org.RootTokens[0]); resp.StatusCode != 401 {
		t.Fatalf("a revoked token came back: %d", resp.StatusCode)
	}

	s.SetFaults(Faults{Down: true})
	if resp, _, _ := rawGet(t, api+"/user", "not-a-token"); resp.StatusCode != 503 {
		t.Fatalf("down: %d", resp.StatusCode)
	}

	s.SetFaults(Faults{ErrorRate: 1, ErrorBurst: 3})
	for i := 1; i <= 5; i++ {
		resp, _, _ := rawGet(t, api+"/user", org.AdminToken)
		if failed := resp.StatusCode >= 500; failed != (i <= 3) {
			t.Fatalf("request %d of a 3-request burst: %d", i, resp.StatusCode)
		}
	}
}
