package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
)

// TriggerResync asks the leader, on whichever replica it runs, for a
// resync; false when one is running here or a request already waits.
func (s *Service) TriggerResync(why string) bool {
	if s.leading.Load() && !s.resyncFree() {
		return false
	}
	ok, err := s.coord.RequestResync(context.Background(), why)
	if err != nil {
		s.log.Error("resync request failed", "error", err)
		return false
	}
	if ok {
		select {
		case s.trigger <- why:
		default:
		}
	}
	return ok
}

// Settings that say where requested resyncs stand, for GET /resync/{id}
// on any replica: the request waiting for the leader (at most one waits),
// and the one the leader runs. Finished ones are in resync.RequestsKey.
const (
	pendingRequestKey = "resync_request_pending"
	runningRequestKey = "resync_request_running"
)

// requestMark is how a request's id travels in the reason of a resync
// (the reason is what goes from the replica asked to the leader).
const requestMark = " (request "

// requestID is the request id in why, "" for a resync nobody asked for
// through the admin API.
func requestID(why string) string {
	_, rest, ok := strings.Cut(why, requestMark)
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, ")")
	return id
}

// newRequestID is a random id for a requested resync.
func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// validRequestID reports whether id has newRequestID's form.
func validRequestID(id string) bool {
	if len(id) != 16 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

func (s *Service) setRunningRequest(ctx context.Context, id string) {
	s.lastMu.Lock()
	s.runningReq = id
	s.lastMu.Unlock()
	if err := s.records.PutSetting(ctx, runningRequestKey, []byte(id)); err != nil {
		s.log.Error("recording the running resync request failed", "error", err)
	}
}

// postResync asks for a resync and answers its request (202): the id to
// follow it with GET /resync/{id}. 409 when one is running or queued.
func (s *Service) postResync(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	why := "admin API" + requestMark + id + ")"
	if full, _ := strconv.ParseBool(r.URL.Query().Get("full")); full {
		why += FullSuffix
	}
	if !s.TriggerResync(why) {
		msg := "a resync is already running or queued; ask again when it has finished (GET /status: resync_running)"
		writeJSON(w, http.StatusConflict, map[string]string{"status": msg, "error": msg})
		return
	}
	if err := s.records.PutSetting(r.Context(), pendingRequestKey, []byte(id)); err != nil {
		s.log.Error("recording the resync request failed", "error", err)
	}
	leader, _ := s.coord.Leader(r.Context())
	writeJSON(w, http.StatusAccepted, adminapi.ResyncRequest{ID: id, State: adminapi.ResyncQueued, Status: "resync started", Leader: leader})
}

// getResync says where the resync requested as {id} stands, whichever
// replica was asked and whichever runs it: queued, running, or done with
// its result. 404 for an id no replica issued, or one older than the
// last resync.KeptRequests requests.
func (s *Service) getResync(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	notFound := map[string]string{"error": "no resync request " + id + " (ids come from POST /resync; the last " +
		strconv.Itoa(resync.KeptRequests) + " are kept)"}
	if !validRequestID(id) {
		writeJSON(w, http.StatusNotFound, notFound)
		return
	}
	rec, err := resync.LoadRequest(ctx, s.records, id)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "reading the resync records failed"})
		return
	}
	leader, _ := s.coord.Leader(ctx)
	out := adminapi.ResyncRequest{ID: id, Leader: leader}
	s.lastMu.Lock()
	runningHere := s.runningReq == id
	s.lastMu.Unlock()
	is := func(key string) bool {
		v, ok, err := s.records.Setting(ctx, key)
		return err == nil && ok && string(v) == id
	}
	switch {
	case rec != nil:
		out.State, out.Result = adminapi.ResyncDone, resultOf(rec)
	case runningHere || is(runningRequestKey):
		out.State = adminapi.ResyncRunning
	case is(pendingRequestKey):
		out.State = adminapi.ResyncQueued
	default:
		writeJSON(w, http.StatusNotFound, notFound)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// resultOf is the admin API's view of a resync record.
func resultOf(r *resync.Record) *adminapi.ResyncResult {
	return &adminapi.ResyncResult{Run: r.Run, OK: r.OK, Outcome: r.Outcome, Replica: r.Replica, Error: r.Error, FailedKinds: r.FailedKinds,
		Kinds: r.Kinds, FileErrorsTotal: r.FileErrorsTotal, DurationSeconds: r.DurationSeconds, Requests: r.Requests, FinishedAt: r.FinishedAt}
}

// requestResync asks the leader for a resync after a change of the token
// mappings, and returns its request id (that of the request already
// waiting, which reads the new mappings when it starts, if there is one).
// Unlike TriggerResync it asks even while a resync runs: that one started
// with the old mappings.
func (s *Service) requestResync(ctx context.Context, why string) string {
	id := newRequestID()
	ok, err := s.coord.RequestResync(ctx, why+requestMark+id+")")
	if err != nil {
		s.log.Error("resync request failed", "error", err, "trigger", why)
		return ""
	}
	if !ok {
		v, found, err := s.records.Setting(ctx, pendingRequestKey)
		if err != nil || !found {
			return ""
		}
		return string(v)
	}
	if err := s.records.PutSetting(ctx, pendingRequestKey, []byte(id)); err != nil {
		s.log.Error("recording the resync request failed", "error", err)
	}
	select {
	case s.trigger <- why:
	default:
	}
	return id
}
