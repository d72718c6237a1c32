package provider

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
)

// logLines decodes tflog's JSON lines.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(buf)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// slog records reach Terraform's log at their level, with their fields,
// groups and With attributes.
func TestTFLogHandlerLevelsAndFields(t *testing.T) {
	var buf bytes.Buffer
	l := newTFLogger(tflogtest.RootLogger(context.Background(), &buf)).With("gitlab", "https://gitlab.example")
	l.Debug("d", "n", 1)
	l.Info("i")
	l.Warn("w", "error", "boom")
	l.WithGroup("g").Error("e", "k", "v")
	lines := logLines(t, &buf)
	want := [][2]string{{"debug", "d"}, {"info", "i"}, {"warn", "w"}, {"error", "e"}}
	if len(lines) != len(want) {
		t.Fatalf("%d log lines, want %d: %v", len(lines), len(want), lines)
	}
	for i, w := range want {
		if lines[i]["@level"] != w[0] || lines[i]["@message"] != w[1] || lines[i]["gitlab"] != "https://gitlab.example" {
			t.Fatalf("line %d = %v, want level %s message %s with the gitlab field", i, lines[i], w[0], w[1])
		}
	}
	if lines[0]["n"] != float64(1) || lines[2]["error"] != "boom" || lines[3]["g.k"] != "v" {
		t.Fatalf("fields lost: %v", lines)
	}
}

// The provider's GitLab client reports its retries to Terraform's log
// (TF_LOG), never with the token.
func TestGitLabClientRetriesReachTerraformLog(t *testing.T) {
	s := gitlabtest.New(gitlabtest.Options{Seed: 8})
	org := s.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 3, Depth: 1, Seed: 8})
	host := s.Start(t).URL
	s.SetFaults(gitlabtest.Faults{ErrorRate: 1, ErrorBurst: 2})
	var buf bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &buf)
	p := &Provider{Options: gitlab.Options{RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond}}
	c, err := p.gitlabClient(ctx, host, org.AdminToken)
	if err != nil {
		t.Fatal(err)
	}
	var user map[string]any
	if _, err := c.Do(ctx, http.MethodGet, "user", nil, &user); err != nil {
		t.Fatalf("GET /user after a burst of two 5xx: %v", err)
	}
	out := buf.String()
	if !strings.Contains(out, "gitlab: retryable failure") {
		t.Fatalf("no retry in Terraform's log:\n%s", out)
	}
	if strings.Contains(out, org.AdminToken) {
		t.Fatal("the token reached Terraform's log")
	}
}
