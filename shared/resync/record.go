package resync

import (
	"context"
	"encoding/json"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// RecordKey is the setting that holds the last completed resync's Record,
// so every replica, and the next resync's progress lines, know it.
const RecordKey = "last_resync"

// Record is what is kept of the last completed resync.
type Record struct {
	Run             int64                     `json:"run"`
	OK              bool                      `json:"ok"`
	Replica         string                    `json:"replica"`
	FinishedAt      time.Time                 `json:"finished_at"`
	DurationSeconds float64                   `json:"duration_seconds"`
	Requests        int64                     `json:"requests"`
	Error           string                    `json:"error,omitempty"`
	Kinds           map[string]map[string]int `json:"kinds"`
	// ExpressionErrors are the kinds' failing mapping expressions
	// (KindSummary.ExpressionErrors), by kind.
	ExpressionErrors map[string][]ExpressionError `json:"expression_errors,omitempty"`
}

// NewRecord describes sum, run by replica; errText is its error, if any.
func NewRecord(sum *Summary, replica, errText string) Record {
	kinds := map[string]map[string]int{}
	for _, k := range sum.Kinds {
		kinds[k.Kind] = map[string]int{"fetched": k.Fetched, "selected": k.Selected, "created": k.Created, "updated": k.Updated,
			"unchanged": k.Unchanged, "deleted": k.Deleted, "errors": k.ErrorsTotal}
	}
	rec := Record{Run: int64(sum.Run), OK: !sum.Failed(), Replica: replica, FinishedAt: time.Now().UTC(),
		DurationSeconds: sum.Duration.Seconds(), Requests: sum.Requests, Error: errText, Kinds: kinds}
	for _, k := range sum.Kinds {
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

// Save stores the record.
func (r Record) Save(ctx context.Context, s catalog.Settings) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return s.PutSetting(ctx, RecordKey, b)
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
