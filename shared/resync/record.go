package resync

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// RecordKey is the setting that holds the last completed resync's Record,
// so every replica, and the next resync's progress lines, know it.
const RecordKey = "last_resync"

// CompletedKey is the setting that holds the Record of the last resync
// that completed (OK): what /readyz waits for on every replica. RecordKey
// may hold a later, failed one.
const CompletedKey = "last_completed_resync"

// Record is what is kept of the last resync, and (under CompletedKey) of
// the last completed one.
type Record struct {
	Run int64 `json:"run"`
	// Request is the id of the admin API request (POST /resync) the
	// resync ran for, if any.
	Request string `json:"request,omitempty"`
	// OK is true when every kind completed; file errors do not change it.
	OK bool `json:"ok"`
	// Outcome is Summary.Outcome: "ok", "completed with file errors" or
	// "failed".
	Outcome         string                    `json:"outcome,omitempty"`
	Replica         string                    `json:"replica"`
	FinishedAt      time.Time                 `json:"finished_at"`
	DurationSeconds float64                   `json:"duration_seconds"`
	Requests        int64                     `json:"requests"`
	Error           string                    `json:"error,omitempty"`
	FailedKinds     []string                  `json:"failed_kinds,omitempty"`
	Kinds           map[string]map[string]int `json:"kinds"`
	// ExpressionErrors are the kinds' failing mapping expressions
	// (KindSummary.ExpressionErrors), by kind.
	ExpressionErrors map[string][]ExpressionError `json:"expression_errors,omitempty"`
	// FileErrors are the files that could not be used (the first 100 per
	// kind), FileErrorsTotal counts them all.
	FileErrors      []FileErrorRecord `json:"file_errors,omitempty"`
	FileErrorsTotal int               `json:"file_errors_total,omitempty"`
	// RefusedClaims are GitOps spec files' claims on entities another
	// project or kind owns (KindSummary.RefusedClaims), as text.
	RefusedClaims []string `json:"refused_claims,omitempty"`
}

// FileErrorRecord is one file a resync could not use (crawl.FileError), as
// /status shows it.
type FileErrorRecord struct {
	Kind           string `json:"kind"`
	Project        string `json:"project"`
	ProjectID      int64  `json:"project_id"`
	Path           string `json:"path"`
	Ref            string `json:"ref,omitempty"`
	ReferencedFrom string `json:"referenced_from,omitempty"`
	Reason         string `json:"reason"`
	Error          string `json:"error,omitempty"`
}

// NewRecord describes sum, run by replica; errText is its error, if any.
func NewRecord(sum *Summary, replica, errText string) Record {
	kinds := map[string]map[string]int{}
	var files []FileErrorRecord
	var failed []string
	for _, k := range sum.Kinds {
		// requests and duration_ms say where a resync's time and GitLab
		// budget went, per kind (the console's overview, /status).
		kinds[k.Kind] = map[string]int{"fetched": k.Fetched, "selected": k.Selected, "created": k.Created, "updated": k.Updated,
			"unchanged": k.Unchanged, "deleted": k.Deleted, "errors": k.ErrorsTotal, "file_errors": k.FileErrorsTotal,
			"requests": int(k.Requests), "duration_ms": int(k.Duration.Milliseconds())}
		if k.Failed() {
			failed = append(failed, k.Kind)
		}
		for _, fe := range k.FileErrors {
			r := FileErrorRecord{Kind: k.Kind, Project: fe.Project, ProjectID: fe.ProjectID, Path: fe.Path, Ref: fe.Ref,
				ReferencedFrom: fe.ReferencedFrom, Reason: fe.Reason}
			if fe.Err != nil {
				r.Error = fe.Err.Error()
			}
			files = append(files, r)
		}
	}
	rec := Record{Run: int64(sum.Run), OK: !sum.Failed(), Outcome: sum.Outcome(), Replica: replica, FinishedAt: time.Now().UTC(),
		DurationSeconds: sum.Duration.Seconds(), Requests: sum.Requests, Error: errText, FailedKinds: failed, Kinds: kinds,
		FileErrors: files, FileErrorsTotal: sum.FileErrorsTotal()}
	for _, k := range sum.Kinds {
		for _, r := range k.RefusedClaims {
			rec.RefusedClaims = append(rec.RefusedClaims, r.String())
		}
		if len(k.ExpressionErrors) > 0 {
			if rec.ExpressionErrors == nil {
				rec.ExpressionErrors = map[string][]ExpressionError{}
			}
			rec.ExpressionErrors[k.Kind] = k.ExpressionErrors
			kinds[k.Kind]["expression_errors"] = k.ExpressionErrorCount()
		}
	}
	return rec
}

// FailedRecord describes a resync that could not run at all (GitLab
// unreachable, the store unavailable): errText says why.
func FailedRecord(replica, errText string) Record {
	return Record{Outcome: OutcomeFailed, Replica: replica, FinishedAt: time.Now().UTC(), Error: errText}
}

// Save stores the record as the last resync's and, when it completed, as
// the last completed one's too.
func (r Record) Save(ctx context.Context, s catalog.Settings) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := s.PutSetting(ctx, RecordKey, b); err != nil {
		return err
	}
	if !r.OK {
		return nil
	}
	return s.PutSetting(ctx, CompletedKey, b)
}

// LoadCompleted reads the record of the last completed resync (nil when
// none completed). A catalog written before CompletedKey existed has only
// RecordKey: its record counts when it says OK.
func LoadCompleted(ctx context.Context, s catalog.Settings) (*Record, error) {
	b, ok, err := s.Setting(ctx, CompletedKey)
	if err != nil {
		return nil, err
	}
	if !ok {
		r, err := LoadRecord(ctx, s)
		if err != nil || r == nil || !r.OK {
			return nil, err
		}
		return r, nil
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// LoadRecord reads the last record (nil when there is none).
func LoadRecord(ctx context.Context, s catalog.Settings) (*Record, error) {
	b, ok, err := s.Setting(ctx, RecordKey)
	if err != nil || !ok {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Expected are the objects each kind selected in the recorded resync (for
// Options.Expected); nil without a record.
func (r *Record) Expected() map[string]int {
	if r == nil {
		return nil
	}
	out := map[string]int{}
	for k, v := range r.Kinds {
		out[k] = v["selected"]
	}
	return out
}

// RequestsKey is the setting that holds the records of the last resyncs
// asked through the admin API, newest first, so any replica can answer
// GET /resync/{id} whichever replica ran it.
const RequestsKey = "resync_requests"

// KeptRequests is how many requested resyncs' records RequestsKey keeps.
const KeptRequests = 20

// SaveRequest adds the record of a requested resync (r.Request set) to
// RequestsKey, dropping the oldest past KeptRequests. Only the leader
// runs resyncs, so only it writes the setting.
func (r Record) SaveRequest(ctx context.Context, s catalog.Settings) error {
	if r.Request == "" {
		return nil
	}
	recs, err := loadRequests(ctx, s)
	if err != nil {
		return err
	}
	recs = append([]Record{r}, recs...)
	if len(recs) > KeptRequests {
		recs = recs[:KeptRequests]
	}
	b, err := json.Marshal(recs)
	if err != nil {
		return err
	}
	return s.PutSetting(ctx, RequestsKey, b)
}

// LoadRequest reads the record of the resync requested as id (nil while
// it has not finished, or when it is not among the last KeptRequests).
func LoadRequest(ctx context.Context, s catalog.Settings, id string) (*Record, error) {
	recs, err := loadRequests(ctx, s)
	if err != nil {
		return nil, err
	}
	for i := range recs {
		if recs[i].Request == id {
			return &recs[i], nil
		}
	}
	return nil, nil
}

func loadRequests(ctx context.Context, s catalog.Settings) ([]Record, error) {
	b, ok, err := s.Setting(ctx, RequestsKey)
	if err != nil || !ok {
		return nil, err
	}
	var recs []Record
	if err := json.Unmarshal(b, &recs); err != nil {
		return nil, fmt.Errorf("setting %s: %w", RequestsKey, err)
	}
	return recs, nil
}
