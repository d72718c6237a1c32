package crawl

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// lockedBuffer is a log sink the client may write to from any goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// refsEnv is a simulated GitLab with one project whose repository the
// test fills, and a source reading it that logs to logs.
type refsEnv struct {
	sim  *gitlabtest.Server
	src  *Source
	pr   map[string]any
	logs *lockedBuffer
}

func newRefsEnv(t *testing.T) *refsEnv {
	t.Helper()
	sim := gitlabtest.New(gitlabtest.Options{})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 4, Seed: 5})
	ts := sim.Start(t)
	logs := &lockedBuffer{}
	c, err := gitlab.New(ts.URL, org.AdminToken, gitlab.Options{RetryBase: time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sim.Projects() {
		if !p.EmptyRepo {
			pr := map[string]any{"id": float64(p.ID), "path_with_namespace": p.PathWithNamespace, "default_branch": p.DefaultBranch}
			return &refsEnv{sim: sim, src: &Source{Entry: tokenmap.Entry{Token: org.AdminToken, Patterns: []string{"**"}}, Client: c}, pr: pr, logs: logs}
		}
	}
	t.Fatal("no project with a repository")
	return nil
}

// rawReads counts the simulator's raw file reads (the ones file://
// values cause; the file kind reads its own file as a file object) and the
// distinct files they read. The simulator's counter keys keep the file's
// path: GET /projects/:id/repository/:id/PATH/:id.
func rawReads(counts map[string]int) (requests, distinct int) {
	for k, n := range counts {
		if strings.HasPrefix(k, "GET /projects/:id/repository/:id/") && strings.HasSuffix(k, "/:id") {
			requests += n
			distinct++
		}
	}
	return requests, distinct
}

// heapAfterGC is the live heap.
func heapAfterGC() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// readAttack reads file path as the file kind does (v2: file:// values in
// the content are resolved) and measures what it cost: requests for
// files and the live heap the objects hold.
func (e *refsEnv) readAttack(t *testing.T, path string) (content map[string]any, fileRequests int, heap int64) {
	t.Helper()
	e.sim.ResetRequests()
	base := heapAfterGC()
	objs, err := e.src.FileObjects(context.Background(), e.pr, path, e.pr["default_branch"].(string), FileOptions{Generation: "v2"})
	if err != nil || len(objs) != 1 {
		t.Fatalf("%d objects, %v", len(objs), err)
	}
	heap = heapAfterGC() - base
	runtime.KeepAlive(objs)
	counts, _ := e.sim.Requests()
	fileRequests, distinct := rawReads(counts)
	if fileRequests != distinct {
		t.Errorf("%d reads of %d distinct files", fileRequests, distinct)
	}
	docs := objs[0]["file"].(map[string]any)["content"].([]any)
	return docs[0].(map[string]any), fileRequests, heap
}

// TestFileRefsAttackOneBigFileManyTimes is the attack of issue 22 part 2:
// a committed file holding 300 "file://big.txt" values naming a 1 MiB
// file. The file is read once, at most the budget is resolved (all the
// copies sharing one string), the rest stay strings, one warning names
// the file, and the live heap stays far from 300 MiB.
func TestFileRefsAttackOneBigFileManyTimes(t *testing.T) {
	e := newRefsEnv(t)
	id := int64(e.pr["id"].(float64))
	e.sim.SetFile(id, "big.txt", strings.Repeat("x", MaxFileSize))
	var doc strings.Builder
	for i := range 300 {
		fmt.Fprintf(&doc, "k%03d: file://big.txt\n", i)
	}
	e.sim.SetFile(id, "catalog/refs.yml", doc.String())

	content, reads, heap := e.readAttack(t, "catalog/refs.yml")
	t.Logf("300 references to a 1 MiB file: %d file reads, live heap +%d MiB", reads, heap>>20)
	if reads != 1 {
		t.Errorf("big.txt read %d times, want once", reads)
	}
	resolved, left := 0, 0
	var data *byte
	for k, v := range content {
		switch s := v.(type) {
		case string:
			if s == "file://big.txt" {
				left++
				continue
			}
			if len(s) != MaxFileSize {
				t.Fatalf("%s: %d bytes", k, len(s))
			}
			resolved++
			if data != nil && unsafe.StringData(s) != data {
				t.Errorf("%s: a copy of big.txt, not the shared string", k)
			}
			data = unsafe.StringData(s)
		default:
			t.Fatalf("%s: %T", k, v)
		}
	}
	want := MaxFileRefBytes / MaxFileSize
	if resolved != want || left != 300-want {
		t.Errorf("resolved %d (want %d, the byte budget), left %d", resolved, want, left)
	}
	// The first keys in order are the ones resolved, every time.
	if _, ok := content["k000"].(string); !ok || content["k000"] == "file://big.txt" || content["k299"] != "file://big.txt" {
		t.Errorf("resolved values are not the first in key order")
	}
	if heap > 64<<20 {
		t.Errorf("live heap grew by %d MiB resolving one file", heap>>20)
	}
	logs := e.logs.String()
	if n := strings.Count(logs, "left unresolved"); n != 1 || !strings.Contains(logs, "file=catalog/refs.yml") ||
		!strings.Contains(logs, "project="+e.pr["path_with_namespace"].(string)) || !strings.Contains(logs, fmt.Sprintf("unresolved=%d", 300-want)) {
		t.Errorf("want one warning naming the project and file, got %d:\n%s", n, logs)
	}
}

// TestFileRefsAttackManySmallFiles: 5,000 values each naming a distinct
// small file cost at most MaxFileRefs reads, not 5,000.
func TestFileRefsAttackManySmallFiles(t *testing.T) {
	e := newRefsEnv(t)
	id := int64(e.pr["id"].(float64))
	var doc strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&doc, "k%04d: file://docs/f%04d.txt\n", i, i)
		if i < 200 {
			e.sim.SetFile(id, fmt.Sprintf("docs/f%04d.txt", i), fmt.Sprintf("file %d\n", i))
		}
	}
	e.sim.SetFile(id, "catalog/many.yml", doc.String())

	content, reads, heap := e.readAttack(t, "catalog/many.yml")
	t.Logf("5,000 references to distinct files: %d file reads, live heap +%d KiB", reads, heap>>10)
	if reads != MaxFileRefs {
		t.Errorf("%d reads, want %d (the budget)", reads, MaxFileRefs)
	}
	resolved := 0
	for i := range 5000 {
		v := content[fmt.Sprintf("k%04d", i)]
		switch {
		case v == fmt.Sprintf("file %d\n", i) && i < MaxFileRefs:
			resolved++
		case v == fmt.Sprintf("file://docs/f%04d.txt", i) && i >= MaxFileRefs:
		default:
			t.Fatalf("k%04d = %v", i, v)
		}
	}
	if resolved != MaxFileRefs {
		t.Errorf("resolved %d", resolved)
	}
	if heap > 64<<20 {
		t.Errorf("live heap grew by %d MiB", heap>>20)
	}
	if n := strings.Count(e.logs.String(), "left unresolved"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, e.logs.String())
	}
}

// TestFileRefsCacheSharedByObjects: with WithReferences, the objects of
// one resync or event read a file they all name once; a file over the
// size limit stays a FileError for each (and is not read again).
func TestFileRefsCacheSharedByObjects(t *testing.T) {
	e := newRefsEnv(t)
	id := int64(e.pr["id"].(float64))
	ref := e.pr["default_branch"].(string)
	e.sim.SetFile(id, "docs/owner.txt", "team-x\n")
	e.sim.SetFile(id, "docs/big.txt", strings.Repeat("y", MaxFileSize+1))
	for i := range 5 {
		e.sim.SetFile(id, fmt.Sprintf("catalog/%d.yml", i), "owner: file://docs/owner.txt\nlinks: [file://docs/owner.txt]\n")
		e.sim.SetFile(id, fmt.Sprintf("bad/%d.yml", i), "notes: file://docs/big.txt\n")
	}
	ctx := WithReferences(context.Background(), NewReferences())
	e.sim.ResetRequests()
	for i := range 5 {
		objs, err := e.src.FileObjects(ctx, e.pr, fmt.Sprintf("catalog/%d.yml", i), ref, FileOptions{Generation: "v2"})
		if err != nil {
			t.Fatal(err)
		}
		doc := objs[0]["file"].(map[string]any)["content"].([]any)[0].(map[string]any)
		if doc["owner"] != "team-x\n" || doc["links"].([]any)[0] != "file://docs/owner.txt" {
			t.Fatalf("object values are resolved, list items are not: %v", doc)
		}
		_, err = e.src.FileObjects(ctx, e.pr, fmt.Sprintf("bad/%d.yml", i), ref, FileOptions{Generation: "v2"})
		fe, ok := AsFileError(err)
		if !ok || fe.Reason != ReasonTooLarge || fe.Path != "docs/big.txt" || fe.ReferencedFrom != fmt.Sprintf("bad/%d.yml", i) {
			t.Fatalf("bad/%d.yml: %v", i, err)
		}
	}
	counts, _ := e.sim.Requests()
	if n, _ := rawReads(counts); n != 2 {
		t.Errorf("%d reads of named files, want 2 (owner.txt, big.txt)", n)
	}
}

// TestReferencesCacheBounded: the cache lets its oldest files go beyond
// its byte limit.
func TestReferencesCacheBounded(t *testing.T) {
	r := NewReferences()
	r.limit = 10 << 10
	c := strings.Repeat("z", 1<<10)
	for i := range 100 {
		r.put(fmt.Sprintf("1|main|f%d", i), cachedFile{content: &c})
	}
	if r.size > r.limit || len(r.files) > 10 || len(r.files) < 5 {
		t.Fatalf("size %d, %d files", r.size, len(r.files))
	}
	if _, ok := r.files["1|main|f99"]; !ok {
		t.Fatal("the newest file is not cached")
	}
	if _, ok := r.files["1|main|f0"]; ok {
		t.Fatal("the oldest file is still cached")
	}
}
