package adminapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
	"github.com/glsync/terraform-provider-glsync/shared/origin"
)

const adminToken = "admin-token-0123456789abcdef0123456789"

// TestRedirectToAnotherPortNeverCarriesTheAdminToken: a daemon_url that
// redirects to another port of the same address (net/http keeps
// Authorization for it) does not get it contacted; the error names both
// URLs and daemon_url, not the token. A redirect within the origin is
// followed, with the token.
func TestRedirectToAnotherPortNeverCarriesTheAdminToken(t *testing.T) {
	var sent, leaked atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		if strings.Contains(r.Header.Get("Authorization"), adminToken) {
			leaked.Add(1)
		}
		_, _ = fmt.Fprint(w, `{"name":"m","patterns":["**"]}`)
	}))
	defer other.Close()
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		daemon := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, code)
		}))
		_, err := adminapi.NewClient(daemon.URL, adminToken).GetTokenMapping(context.Background(), "m")
		daemon.Close()
		if sent.Load() != 0 {
			t.Fatalf("%d: the other origin was sent %d request(s), %d with the admin token", code, sent.Load(), leaked.Load())
		}
		var re *origin.RedirectError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), daemon.URL+"/admin/") || !strings.Contains(err.Error(), other.URL+"/admin/") ||
			!strings.Contains(err.Error(), "daemon_url") || strings.Contains(err.Error(), adminToken) {
			t.Fatalf("%d: error %v", code, err)
		}
	}
	same := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+adminToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/v2/") {
			http.Redirect(w, r, "/v2"+r.URL.Path, http.StatusFound)
			return
		}
		_, _ = fmt.Fprint(w, `{"name":"m","patterns":["**"]}`)
	}))
	defer same.Close()
	if m, err := adminapi.NewClient(same.URL, adminToken).GetTokenMapping(context.Background(), "m"); err != nil || m.Name != "m" {
		t.Fatalf("a redirect within the origin: %+v, %v", m, err)
	}
}
