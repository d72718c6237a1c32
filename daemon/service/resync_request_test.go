package service

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
)

// TestResyncRequestThroughTheAdminAPI: POST /resync answers the
// request's id; GET /resync/{id} says where it stands and, once done,
// its result, as the provider or glsyncd resync --remote --wait read it
// through adminapi. An id no replica issued is 404; without the token,
// 401. A second request while one runs or waits is 409.
func TestResyncRequestThroughTheAdminAPI(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.ready()
	eventually(t, 5*time.Second, "start-up resync finished", func() bool { return h.svc.LastResync() != nil && h.svc.resyncFree() })
	api := adminapi.NewClient("http://"+h.svc.AdminAddr(), adminToken)
	ctx := context.Background()
	req, err := api.StartResync(ctx, true)
	if err != nil || len(req.ID) != 16 || req.State != adminapi.ResyncQueued {
		t.Fatalf("start: %+v %v", req, err)
	}
	var ae *adminapi.Error
	if _, err := api.StartResync(ctx, false); !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Msg == "" {
		// The first may already be done on a fast machine.
		if err != nil {
			t.Fatalf("second start while one waits: %v", err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	done, err := api.WaitResync(wctx, req.ID, 20*time.Millisecond)
	if err != nil || done.State != adminapi.ResyncDone || done.Result == nil || !done.Result.OK || done.Result.Outcome != "ok" ||
		done.Result.Kinds["project"]["selected"] == 0 || done.Result.Run < 2 {
		t.Fatalf("wait: %+v %v", done, err)
	}
	// Still answered after it finished, whichever replica is asked.
	if again, err := api.Resync(ctx, req.ID); err != nil || again.State != adminapi.ResyncDone || again.Result.Run != done.Result.Run {
		t.Fatalf("read again: %+v %v", again, err)
	}
	if _, err := api.Resync(ctx, "0123456789abcdef"); !errors.Is(err, adminapi.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := api.Resync(ctx, "../status"); !errors.Is(err, adminapi.ErrNotFound) {
		t.Fatalf("malformed id: %v", err)
	}
	if code, _ := h.admin("GET", "/resync/"+req.ID, ""); code != http.StatusUnauthorized {
		t.Fatalf("without the token: %d", code)
	}
}
