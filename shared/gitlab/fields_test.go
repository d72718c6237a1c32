package gitlab_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// WithFields keeps exactly the named fields, with the values a whole
// listing has, and leaves out a field GitLab does not send.
func TestWithFieldsKeepsOnlyNamedFields(t *testing.T) {
	s := gitlabtest.New(gitlabtest.Options{Seed: 5})
	org := s.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 250, Depth: 2, Seed: 5})
	c, err := gitlab.New(s.Start(t).URL, org.AdminToken, fastOpts(), nil)
	if err != nil {
		t.Fatal(err)
	}
	list := func(ctx context.Context) map[float64]map[string]any {
		out := map[float64]map[string]any{}
		err := c.ListKeysetParallel(ctx, "projects", nil, func(p gitlab.Page) error {
			for _, o := range p.Items {
				out[o["id"].(float64)] = o
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	whole := list(context.Background())
	fields := []string{"id", "path_with_namespace", "last_activity_at", "archived", "no_such_field"}
	kept := list(gitlab.WithFields(context.Background(), fields...))
	if len(kept) != len(whole) || len(whole) != 250 {
		t.Fatalf("listed %d projects with fields, %d whole, want 250", len(kept), len(whole))
	}
	for id, o := range kept {
		want := map[string]any{}
		for _, f := range fields {
			if v, ok := whole[id][f]; ok {
				want[f] = v
			}
		}
		if len(want) != len(fields)-1 {
			t.Fatalf("project %v: the whole listing lacks a field the test names: %v", id, want)
		}
		if !reflect.DeepEqual(o, want) {
			t.Fatalf("project %v with fields = %v, want %v", id, o, want)
		}
	}
}

// A page GitLab cut short (a proxy dropping the connection after the
// headers, a body that is not JSON) fails the listing with an error that
// names the request; no partial page reaches the consumer.
func TestListingRefusesUndecodablePage(t *testing.T) {
	for _, body := range []string{`[{"id": 1}, {"id": 2`, `<html>502 Bad Gateway</html>`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, body)
		}))
		c, err := gitlab.New(srv.URL, "glpat-test-token-000000", fastOpts(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, ctx := range []context.Context{context.Background(), gitlab.WithFields(context.Background(), "id")} {
			pages := 0
			err = c.ListOffset(ctx, "groups", nil, func(gitlab.Page) error { pages++; return nil })
			if err == nil || pages != 0 {
				t.Fatalf("body %q: err %v after %d pages, want an error and no page", body, err, pages)
			}
			if !strings.Contains(err.Error(), "GET /groups") || strings.Contains(err.Error(), "glpat-test-token") {
				t.Fatalf("body %q: error %q should name the request and not the token", body, err)
			}
		}
		srv.Close()
	}
}
