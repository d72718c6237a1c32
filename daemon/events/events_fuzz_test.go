package events

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

type fixtureDelivery struct {
	file, event string
	body        []byte
}

// fixtureDeliveries reads every payload fixture with its X-Gitlab-Event.
func fixtureDeliveries(f *testing.F) []fixtureDelivery {
	f.Helper()
	fixtures, err := gitlabtest.Fixtures()
	if err != nil || len(fixtures) == 0 {
		f.Fatalf("payload fixtures: %d, %v", len(fixtures), err)
	}
	var out []fixtureDelivery
	for _, fx := range fixtures {
		out = append(out, fixtureDelivery{fx.Name, fx.Event, fx.Body})
	}
	return out
}

// FuzzObjectKey: the queue's ordering key of any delivery, without
// network. It must not panic, must name a project or a group by a
// non-zero id (or nothing), and depends on the body only.
func FuzzObjectKey(f *testing.F) {
	for _, d := range fixtureDeliveries(f) {
		f.Add(d.event, d.body)
	}
	f.Fuzz(func(t *testing.T, eventType string, body []byte) {
		key := ObjectKey(eventType, body)
		if key != ObjectKey("", body) {
			t.Fatalf("ObjectKey depends on the event type")
		}
		if key == "" {
			return
		}
		kind, id, ok := strings.Cut(key, ":")
		if !ok || kind != "project" && kind != "group" {
			t.Fatalf("key %q names neither a project nor a group", key)
		}
		if n, err := strconv.ParseInt(id, 10, 64); err != nil || n == 0 {
			t.Fatalf("key %q has no id", key)
		}
		var pl payload
		if err := json.Unmarshal(body, &pl); err != nil {
			t.Fatalf("key %q from a body that does not decode: %v", key, err)
		}
		if want := projectID(pl); want != 0 && key != "project:"+strconv.FormatInt(want, 10) {
			t.Fatalf("key %q, payload's project is %d", key, want)
		}
	})
}

// refusingGitLab is GitLab, in memory, answering every request 404 but
// GET /user (the token's user, an administrator or not): events are
// routed, and their objects refused, without a network. Nothing GitLab
// serves, so an event can write nothing.
type refusingGitLab struct{ admin bool }

func (g refusingGitLab) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	status, body := http.StatusNotFound, `{"message":"404 Not Found"}`
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/api/v4/user") {
		status, body = http.StatusOK, `{"id":1,"username":"root","is_admin":`+strconv.FormatBool(g.admin)+`}`
	}
	return &http.Response{
		Status: strconv.Itoa(status) + " " + http.StatusText(status), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: r,
	}, nil
}

// fuzzEnv is what every FuzzHandle input shares: the all-kinds mapping
// (the one events_test.go uses) and clients of the in-memory GitLab.
type fuzzEnv struct {
	mapping      *mapping.Config
	admin, plain *gitlab.Client
}

var fuzzEnvOnce = sync.OnceValues(func() (*fuzzEnv, error) {
	m, err := mapping.Load("../../shared/mapping/all-kinds.yml")
	if err != nil {
		return nil, err
	}
	client := func(admin bool) (*gitlab.Client, error) {
		return gitlab.New("https://gitlab.invalid", "glpat-QXbeg-Ev9xtu5_5FsaAQ", gitlab.Options{
			Transport: refusingGitLab{admin: admin}, Logger: slog.New(slog.DiscardHandler), RetryBase: time.Millisecond, MaxRetries: -1,
		}, nil)
	}
	env := &fuzzEnv{mapping: m}
	if env.admin, err = client(true); err != nil {
		return nil, err
	}
	if env.plain, err = client(false); err != nil {
		return nil, err
	}
	return env, nil
})

// processor for a FuzzHandle input: no token, an administrator's token
// with "**" or with the spec's globs (README.md), or a group token whose
// group listing GitLab refuses.
func (e *fuzzEnv) processor(mode uint8) *Processor {
	p := &Processor{Mapping: e.mapping, Now: func() time.Time { return time.Unix(1700000000, 0) }}
	entry := func(patterns ...string) tokenmap.Entry {
		return tokenmap.Entry{Token: "glpat-QXbeg-Ev9xtu5_5FsaAQ", Patterns: patterns}
	}
	switch mode % 4 {
	case 1:
		p.Sources = []*crawl.Source{{Entry: entry("**"), Client: e.admin}}
	case 2:
		p.Sources = []*crawl.Source{{Entry: entry("**/DevopsTeam/*Service", "**/RnDTeam/*Service"), Client: e.admin}}
	case 3:
		p.Sources = []*crawl.Source{{Entry: entry("**"), Client: e.plain}}
	}
	return p
}

// FuzzHandle runs a delivery through Processor.Handle against a GitLab
// that serves nothing: payload decoding, routing per X-Gitlab-Event, and
// the deletions computed from the payload alone (project, group, release
// destroyed). It must not panic; an outcome must be one of the documented
// ones; nothing may be upserted (GitLab served no object: entities are
// never built from payloads); a refusal deletes nothing.
func FuzzHandle(f *testing.F) {
	for _, d := range fixtureDeliveries(f) {
		for mode := range uint8(4) {
			f.Add(d.event, d.body, mode)
		}
	}
	env, err := fuzzEnvOnce()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, eventType string, body []byte, mode uint8) {
		if len(body) > 64<<10 {
			t.Skip("body larger than 64 KB")
		}
		p := env.processor(mode)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ev := &catalog.Event{Type: eventType, Body: body, ReceivedAt: time.Unix(1700000000, 0), Object: ObjectKey(eventType, body)}
		res, err := p.Handle(ctx, ev)
		if ctx.Err() != nil {
			t.Fatal("Handle took more than 10s")
		}
		if err != nil {
			var te *TransientError
			if errors.As(err, &te) && te.Err == nil {
				t.Fatal("TransientError without a cause")
			}
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		switch res.Outcome {
		case Applied, OutOfScope, NotMapped, Unhandled, GitLabRefused:
		default:
			t.Fatalf("outcome %q", res.Outcome)
		}
		for kind, es := range res.Changes.Upserts {
			if len(es) > 0 {
				t.Fatalf("%d %s entities upserted though GitLab served nothing: %+v", len(es), kind, es[0])
			}
		}
		if res.Outcome == GitLabRefused && len(res.Changes.Deletes) > 0 {
			t.Fatalf("a refusal deleted %v", res.Changes.Deletes)
		}
		for _, d := range res.Changes.Deletes {
			if d.Blueprint == "" || d.Identifier == "" {
				t.Fatalf("deletion without a key: %+v", d)
			}
		}
	})
}
