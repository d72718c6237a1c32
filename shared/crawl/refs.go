package crawl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
)

// projectRefs is the one project listing a Source's per-project kinds
// share (ProjectRef objects). It lives in a temporary file, one JSON
// object per line, read back a chunk at a time by each kind: at 100,000
// projects, kept in memory, it would be the largest thing a resync holds
// (hundreds of bytes per project), and the memory of a resync must not
// grow with the organisation. Where no temporary file can be made, it is
// kept in memory.
type projectRefs struct {
	mu   sync.Mutex
	done bool
	// file holds the refs when spilled, size bytes of them. Its name is
	// removed as soon as it is created (where the system allows), so a
	// killed process leaves nothing behind; readers share the open file
	// through ReadAt.
	file    *os.File
	size    int64
	removed bool
	mem     []map[string]any // else the refs
}

// refsChunk is how many refs a kind reads from the file at a time. A
// chunk stays live while its projects are read, in every per-project kind
// of every token at once (a dozen chunks in a resync with a few kinds),
// so it is one listing page's worth, not more.
const refsChunk = 100

// load lists the selected projects once (later calls reuse the listing).
func (r *projectRefs) load(ctx context.Context, s *Source) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return nil
	}
	f, ferr := os.CreateTemp("", "glsync-projects-*.jsonl")
	var w *bufio.Writer
	var enc *json.Encoder
	removed := false
	if ferr == nil {
		removed = os.Remove(f.Name()) == nil
		w = bufio.NewWriter(f)
		enc = json.NewEncoder(w)
	}
	var mem []map[string]any
	// Only the fields the refs keep, and those the listing's filter reads,
	// are decoded: pages of whole projects would be most of what a
	// resync holds while this listing and the project kind's run.
	fields := slices.Concat(refFields, deletionFields, releaseRefFields)
	_, err := s.Projects(gitlab.WithFields(ctx, fields...), func(p gitlab.Page) error {
		for _, pr := range p.Items {
			ref := ProjectRef(pr)
			releaseRef(ref, pr)
			if enc == nil {
				mem = append(mem, ref)
				continue
			}
			if err := enc.Encode(ref); err != nil {
				return fmt.Errorf("crawl: spilling the project listing: %w", err)
			}
		}
		return nil
	})
	if f != nil {
		if err == nil {
			err = w.Flush()
		}
		var size int64
		if err == nil {
			size, err = f.Seek(0, io.SeekCurrent)
		}
		if err != nil {
			closeTemp(f, removed)
		} else {
			r.file, r.size, r.removed = f, size, removed
		}
	}
	if err != nil {
		// Not cached: a later call may succeed (e.g. after a 5xx burst).
		return err
	}
	r.mem, r.done = mem, true
	return nil
}

// each hands the refs to fn a chunk at a time, in listing order.
func (r *projectRefs) each(ctx context.Context, fn func([]map[string]any) error) error {
	if r.file == nil {
		for start := 0; start < len(r.mem); start += refsChunk {
			if err := fn(r.mem[start:min(start+refsChunk, len(r.mem))]); err != nil {
				return err
			}
		}
		return nil
	}
	dec := json.NewDecoder(bufio.NewReader(io.NewSectionReader(r.file, 0, r.size)))
	chunk := make([]map[string]any, 0, refsChunk)
	for {
		var ref map[string]any
		err := dec.Decode(&ref)
		if err == nil {
			chunk = append(chunk, ref)
		}
		if len(chunk) == refsChunk || (err != nil && len(chunk) > 0) {
			if ferr := fn(chunk); ferr != nil {
				return ferr
			}
			chunk = make([]map[string]any, 0, refsChunk)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("crawl: reading the project listing back: %w", err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// close drops the listing (and its file).
func (r *projectRefs) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.file != nil {
		closeTemp(r.file, r.removed)
	}
	r.file, r.mem, r.done = nil, nil, false
}

// closeTemp closes a temporary file and removes it unless already done.
func closeTemp(f *os.File, removed bool) {
	f.Close()
	if !removed {
		os.Remove(f.Name())
	}
}

// Close releases what the Source keeps between listings (the shared
// project listing's temporary file). The Source can still be used; the
// next per-project listing lists the projects again.
func (s *Source) Close() { s.refs.close() }
