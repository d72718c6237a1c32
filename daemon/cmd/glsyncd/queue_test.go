package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

func TestQueueListRetryDrop(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	s, err := sqlitestore.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"a", "b", "c"} {
		if _, err := s.Enqueue(ctx, &catalog.Event{Delivery: d, Type: "Push Hook", Object: "project:3", Body: []byte(`{}`), ReceivedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		evs, _ := s.Claim(ctx, 1, 0, time.Minute)
		if _, err := s.Retry(ctx, evs[0], "mapping: jq error in "+d, time.Now(), 1); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	cli := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, append(args, "--data-dir", data), &out, &errOut, func(string) string { return "" })
		return code, out.String(), errOut.String()
	}
	code, out, _ := cli("queue", "list")
	if code != 0 || !strings.Contains(out, "0 event(s) queued, 3 dead letter(s)") || !strings.Contains(out, "mapping: jq error in b") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	code, out, _ = cli("queue", "list", "-o", "json")
	var listed struct {
		Queued      int
		DeadLetters []struct {
			ID        int64
			Delivery  string
			LastError string `json:"last_error"`
		} `json:"dead_letters"`
	}
	if err := json.Unmarshal([]byte(out), &listed); code != 0 || err != nil || len(listed.DeadLetters) != 3 || listed.DeadLetters[0].Delivery != "a" {
		t.Fatalf("json: %d %v\n%s", code, err, out)
	}
	if code, out, _ = cli("queue", "retry", "1"); code != 0 || !strings.Contains(out, "requeued 1") {
		t.Fatalf("retry: %d %s", code, out)
	}
	if code, _, errOut := cli("queue", "retry"); code != 2 || !strings.Contains(errOut, "--all") {
		t.Fatalf("retry without ids: %d %s", code, errOut)
	}
	if code, _, errOut := cli("queue", "drop", "99"); code != 1 || !strings.Contains(errOut, "named no dead letter") {
		t.Fatalf("drop of an unknown id: %d %s", code, errOut)
	}
	if code, out, _ = cli("queue", "drop", "--all"); code != 0 || !strings.Contains(out, "dropped 2") {
		t.Fatalf("drop: %d %s", code, out)
	}
	if code, out, _ = cli("queue", "list"); !strings.Contains(out, "1 event(s) queued, 0 dead letter(s)") {
		t.Fatalf("after: %d %s", code, out)
	}
	// A mistyped data directory is an error, not a new empty catalog.
	var errOut bytes.Buffer
	missing := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{{"queue", "list"}, {"catalog", "list"}, {"mapping", "test", "--kind", "project", "--from-examples"}} {
		errOut.Reset()
		if code := run(ctx, append(args, "--data-dir", missing), &bytes.Buffer{}, &errOut, func(string) string { return "" }); code != 2 ||
			!strings.Contains(errOut.String(), "holds no catalog") {
			t.Fatalf("%v on a missing data dir: %d %s", args, code, errOut.String())
		}
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatal("a read-only command created the data directory")
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out bytes.Buffer
		if code := run(context.Background(), args, &out, &bytes.Buffer{}, func(string) string { return "" }); code != 0 || !strings.HasPrefix(out.String(), "glsyncd dev (") {
			t.Fatalf("%v: %d %q", args, code, out.String())
		}
	}
}
