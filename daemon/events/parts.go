package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// A push is several independent pieces of work: the project, and each
// repository kind the mapping has (GitOps spec files, files, folders, the
// branch or tag, skills, plugins). Each is a part: one part failing (a
// committer's broken file, a 5xx on one read) must not keep the others
// from being written, nor make them be fetched again on every retry.

// The parts of a push, named as the kinds they write.
const (
	partProject = selector.KindProject
	partGitOps  = selector.KindGitOps
	partFile    = selector.KindFile
	partFolder  = selector.KindFolder
	partBranch  = selector.KindBranch
	partTag     = selector.KindTag
	partSkill   = selector.KindSkill
	partPlugin  = selector.KindPlugin
)

// PartFailure is a part of an event that failed while the others
// succeeded. Err is a *TransientError when a retry may fix it.
type PartFailure struct {
	Part string
	Err  error
}

// Transient reports whether a retry may fix the failure.
func (f PartFailure) Transient() bool {
	var te *TransientError
	return errors.As(f.Err, &te)
}

// repoStep is one repository part of a push.
type repoStep struct {
	part string
	run  func(context.Context, Result) (Result, error)
}

// retries reports whether part is to be applied: every part of a GitLab
// delivery, only the failed ones of a rescheduled rest.
func (pl payload) retries(part string) bool {
	return pl.RetryParts == nil || slices.Contains(pl.RetryParts, part)
}

// needs reports whether the mapping has a kind the part writes, so that
// an event asks GitLab only for what the mapping needs.
func (p *Processor) needs(part string) bool {
	if part == partGitOps {
		return len(p.Mapping.SpecPaths) > 0
	}
	return len(p.Mapping.ResourcesFor(part)) > 0
}

// Rest is what is left of an event whose parts failed: its body with the
// failed parts' names added (glsync_retry_parts), so that a retry applies
// only them; the reason names each part and its error; retry is false
// when no part can succeed by being tried again (dead at once).
func Rest(body []byte, failed []PartFailure) (rest []byte, reason string, retry bool, err error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, "", false, fmt.Errorf("events: rest of a failed event: %w", err)
	}
	parts := make([]string, 0, len(failed))
	reasons := make([]string, 0, len(failed))
	for _, f := range failed {
		parts = append(parts, f.Part)
		reasons = append(reasons, f.Part+": "+f.Err.Error())
		retry = retry || f.Transient()
	}
	if doc["glsync_retry_parts"], err = json.Marshal(parts); err != nil {
		return nil, "", false, err
	}
	if rest, err = json.Marshal(doc); err != nil {
		return nil, "", false, err
	}
	return rest, strings.Join(reasons, "; "), retry, nil
}
