package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRemoteResyncRedirectNeverCarriesTheAdminToken: `resync --remote`
// at a URL that redirects to another port of the same address (net/http
// keeps Authorization for it) does not contact that origin; it fails
// naming both URLs and --remote, without the token.
func TestRemoteResyncRedirectNeverCarriesTheAdminToken(t *testing.T) {
	const token = "remote-admin-token-0123456789abcdef"
	var sent atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer other.Close()
	daemon := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer daemon.Close()
	r := runCLI(t, map[string]string{"GLSYNC_ADMIN_TOKEN": token}, "resync", "--remote", daemon.URL)
	if sent.Load() != 0 {
		t.Fatalf("the other origin was sent %d request(s)", sent.Load())
	}
	out := r.stdout + r.stderr
	if r.code != exitFailed || !strings.Contains(out, daemon.URL+"/resync") || !strings.Contains(out, other.URL+"/resync") || !strings.Contains(out, "--remote") || strings.Contains(out, token) {
		t.Fatalf("exit %d:\n%s", r.code, out)
	}
}
