package events

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// Which failures are retried. An event is retried only for what a later
// attempt can fix: no answer (network, timeout), GitLab overloaded (5xx),
// rate limited (429) or timed out (408). Anything else (a 4xx answer, a
// file that does not parse or is over the size limit, a mapping error)
// would fail the same way every time: retried for ten minutes it only
// holds back the object's later events, so it goes to the dead letters at
// once with its reason.

// classify wraps err as a *TransientError when a retry may fix it and
// returns it as it is (a permanent failure) otherwise.
func classify(err error) error {
	var te *TransientError
	if err == nil || errors.As(err, &te) {
		return err
	}
	if transient(err) {
		return &TransientError{err}
	}
	return err
}

// transient reports whether a retry may fix err.
func transient(err error) bool {
	var rl *gitlab.RateLimitError
	if errors.As(err, &rl) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var api *gitlab.APIError
	if errors.As(err, &api) {
		switch s := api.Status; {
		case s == 0: // no answer: the network or a timeout
			return true
		case s < http.StatusBadRequest: // a success whose body was cut short
			return true
		case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s >= http.StatusInternalServerError:
			return true
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// gone reports whether err is GitLab's 404: the ref, tree or file asked
// for does not exist (any more).
func gone(err error) bool {
	var api *gitlab.APIError
	return errors.As(err, &api) && api.Status == http.StatusNotFound
}

// vanished is the result of an event whose object GitLab served and then,
// on a read that followed, answered 404 for (a project or group deleted
// in between): as for an object refused outright, nothing is written or
// deleted; the deletion's own event, or the next resync, removes it.
func vanished(err error) Result {
	return Result{Outcome: GitLabRefused, Detail: "gone while it was read: " + err.Error()}
}
