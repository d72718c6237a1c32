package crawl

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// Reasons a FileError gives. They are stable words, for summaries, logs
// and metrics; FileError.Err holds the details.
const (
	// ReasonNotFound: the repository tree at the ref lists the file, but
	// GitLab answers 404 on reading it.
	ReasonNotFound = "not found at this ref"
	// ReasonTooLarge: the file is over MaxFileSize.
	ReasonTooLarge = "larger than the 1 MiB limit"
	// ReasonInvalid: a GitOps spec file that is not valid YAML or JSON.
	ReasonInvalid = "not valid YAML or JSON"
	// ReasonNotEntity: a GitOps spec file that parses, but not to an
	// entity or a list of entities.
	ReasonNotEntity = "not an entity or a list of entities"
	// ReasonRefused: GitLab refused to list a repository's files (its
	// blob search or tree answered 400, 404 or an unfollowed 3xx); Path
	// is then the file kind's glob, not one file.
	ReasonRefused = "GitLab refused to list the repository's files"
)

// FileError is a permanent failure of one repository file at one ref: its
// content cannot be used as it is, and asking GitLab again will not change
// that; only a new commit will. A resync reports it and keeps the entities
// the file produced before (see WithFileErrors), where a transient failure
// (5xx, network, 429 after retries) fails the kind instead. Find it with
// errors.As.
type FileError struct {
	// Project is the project's path_with_namespace ("" when the reader
	// knew only its id), ProjectID its id.
	Project   string
	ProjectID int64
	// Path is the file's path in the repository, Ref the branch or commit
	// read.
	Path, Ref string
	// ReferencedFrom is the file whose content named Path with a file://
	// value, when that is how Path came to be read.
	ReferencedFrom string
	// Reason is one of the Reason constants.
	Reason string
	// Err is the underlying error (a YAML error, gitlab.ErrTooLarge), or
	// nil.
	Err error
}

// Error names the file, its project and ref, and the reason, so one log
// line or summary row is enough to find what to fix.
func (e *FileError) Error() string {
	project := e.Project
	if project == "" {
		project = fmt.Sprintf("%d", e.ProjectID)
	}
	msg := fmt.Sprintf("crawl: file %s of project %s", e.Path, project)
	if e.Ref != "" {
		msg += " at " + e.Ref
	}
	if e.ReferencedFrom != "" {
		msg += " (file:// in " + e.ReferencedFrom + ")"
	}
	msg += ": " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap gives the underlying error, so errors.Is(err, gitlab.ErrTooLarge)
// still holds for a file over the limit.
func (e *FileError) Unwrap() error { return e.Err }

// AsFileError returns the FileError in err's chain, if any.
func AsFileError(err error) (*FileError, bool) {
	var fe *FileError
	ok := errors.As(err, &fe)
	return fe, ok
}

// withProject names the project of a FileError read by id only, so
// reports say which repository to fix.
func withProject(err error, pr map[string]any) error {
	if fe, ok := AsFileError(err); ok && fe.Project == "" {
		fe.Project, _ = pr["path_with_namespace"].(string)
	}
	return err
}

// fileSink receives the FileErrors of the listings made with a context;
// failed is set for the project being read (see EachProject), so a
// project with a skipped file is not recorded as read completely.
type fileSink struct {
	report func(*FileError)
	failed *atomic.Bool
}

type fileSinkKey struct{}

// WithFileErrors makes the per-file readers of the listings made with ctx
// (GitOps spec files, the file, folder, skill and plugin kinds, file://
// values in their content, included files) report a FileError to report
// and go on without that file, instead of failing the listing. What the
// file would have produced is left out of the listing: the caller must
// keep the entities it produced before (report gives the project). report
// may be called concurrently. Without it, a FileError is returned like any
// error, so callers that have no way to keep entities fail safe.
func WithFileErrors(ctx context.Context, report func(*FileError)) context.Context {
	return context.WithValue(ctx, fileSinkKey{}, &fileSink{report: report})
}

// withProjectFlag gives one project's reading a sink that also records
// whether a file of the project was skipped.
func withProjectFlag(ctx context.Context) (context.Context, *atomic.Bool) {
	parent, _ := ctx.Value(fileSinkKey{}).(*fileSink)
	if parent == nil {
		return ctx, nil
	}
	flag := &atomic.Bool{}
	return context.WithValue(ctx, fileSinkKey{}, &fileSink{report: parent.report, failed: flag}), flag
}

// skipFile hands a FileError to ctx's sink and returns nil, so the caller
// goes on without the file; any other error, or one without a sink, is
// returned as it is.
func skipFile(ctx context.Context, err error, pr map[string]any) error {
	fe, ok := AsFileError(err)
	sink, _ := ctx.Value(fileSinkKey{}).(*fileSink)
	if !ok || sink == nil {
		return err
	}
	_ = withProject(err, pr)
	if sink.failed != nil {
		sink.failed.Store(true)
	}
	sink.report(fe)
	return nil
}
