package provider

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/terraform-plugin-log/tflogtest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

const redirectToken = "glpat-QXbeg-Ev9xtu5_5FsaAQ"

// redirectingGitLab is a gitlab_host whose API redirects (302) to another
// origin that counts what it is sent and whether the token was in it.
func redirectingGitLab(t *testing.T) (gitlabURL, otherURL string, sent, leaked *atomic.Int64) {
	t.Helper()
	sent, leaked = &atomic.Int64{}, &atomic.Int64{}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent.Add(1)
		var b bytes.Buffer
		_ = r.Header.Write(&b)
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(b.String()+string(body)+r.URL.String(), redirectToken) {
			leaked.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `[]`)
	}))
	t.Cleanup(other.Close)
	gl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	t.Cleanup(gl.Close)
	return gl.URL, other.URL, sent, leaked
}

// TestProviderRedirectToAnotherHostNeverCarriesTheToken: the provider's
// GitLab client (built as Configure builds it) does not follow gitlab_host
// to another origin; the error names both URLs and gitlab_host, and
// neither it nor Terraform's log shows the token.
func TestProviderRedirectToAnotherHostNeverCarriesTheToken(t *testing.T) {
	host, other, sent, leaked := redirectingGitLab(t)
	var logs bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &logs)
	p := &Provider{}
	c, err := p.gitlabClient(ctx, host, redirectToken)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CurrentUser(ctx)
	if leaked.Load() != 0 || sent.Load() != 0 {
		t.Fatalf("the other origin was sent %d request(s), %d with the token", sent.Load(), leaked.Load())
	}
	if err == nil {
		t.Fatal("the redirect to another origin was followed")
	}
	msg := err.Error()
	for _, want := range []string{host + "/api/v4/user", other + "/api/v4/user", "set gitlab_host to it"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not name %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, redirectToken) || strings.Contains(logs.String(), redirectToken) {
		t.Fatalf("the token is shown:\nerror: %s\nlog: %s", msg, logs.String())
	}
}

// TestAccRedirectToAnotherHostFailsTheDataSource: through Terraform, a
// data source reading GitLab behind a redirect to another origin fails
// with a diagnostic saying to fix gitlab_host; the token went nowhere.
func TestAccRedirectToAnotherHostFailsTheDataSource(t *testing.T) {
	host, _, sent, _ := redirectingGitLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providers,
		Steps: []resource.TestStep{{
			Config:      providerBlock(host, redirectToken) + "data \"glsync_groups\" \"all\" {}\n",
			ExpectError: regexp.MustCompile(`set gitlab_host to it`),
		}},
	})
	if sent.Load() != 0 {
		t.Fatalf("the other origin was sent %d request(s)", sent.Load())
	}
}
