package port_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/port"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
)

// TestPort408IsRetried: Port answering 408 (its data ingestion timing
// out, why Ocean core 0.48.4 retries it) is retried like a 503; the write
// lands.
func TestPort408IsRetried(t *testing.T) {
	s := porttest.New(id, secret)
	s.AddBlueprint("service")
	var timeouts atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/blueprints/service/entities/bulk" && timeouts.Add(1) <= 2 {
			w.WriteHeader(http.StatusRequestTimeout) // no body: Port's is not documented
			return
		}
		s.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	c, err := port.New(port.Options{BaseURL: ts.URL, ClientID: id, ClientSecret: secret, Integration: "my-gitlab",
		RetryWaitMin: time.Millisecond, RetryWaitMax: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	refused, err := c.BulkUpsert(context.Background(), "service", ents(3), port.UpsertOptions{})
	if err != nil || len(refused) != 0 {
		t.Fatalf("%v %v", refused, err)
	}
	if n := len(s.Entities()); n != 3 || c.Stats.Retries.Load() != 2 {
		t.Fatalf("stored %d after %d retries; want 3 after 2", n, c.Stats.Retries.Load())
	}
}
