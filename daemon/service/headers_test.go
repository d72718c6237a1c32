package service

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A request whose headers are 100 KiB (the right secret, a real push
// body) gets 431 and its connection closed: the webhook listener reads at
// most webhook.MaxHeaderBytes of headers from anyone. A real GitLab
// delivery, with GitLab's headers, is still accepted (202).
func TestOversizedHeadersGet431(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.ready()
	root := h.org.Roots[0]
	var secret string
	for _, hk := range h.sim.Hooks() {
		if hk.GroupID == root.ID {
			secret = hk.Token
		}
	}
	c, err := net.Dial("tcp", h.svc.WebhookAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	body := `{"object_kind":"push","project_id":1,"project":{"id":1,"path_with_namespace":"acme/x"}}`
	var req strings.Builder
	fmt.Fprintf(&req, "POST /integration/hook/%d HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Gitlab-Event: Push Hook\r\nX-Gitlab-Token: %s\r\n",
		root.ID, h.svc.WebhookAddr(), secret)
	for i := 0; req.Len() < 100<<10; i++ {
		fmt.Fprintf(&req, "X-Padding-%d: %s\r\n", i, strings.Repeat("p", 1000))
	}
	fmt.Fprintf(&req, "Content-Length: %d\r\n\r\n%s", len(body), body)
	if _, err := io.WriteString(c, req.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge || !resp.Close {
		t.Fatalf("100 KiB of headers: %s, close %v; want 431 and the connection closed", resp.Status, resp.Close)
	}
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("the connection stayed open after the 431 (read %d bytes)", n)
	}
	if d, _ := h.svc.Store().Depth(context.Background()); d != 0 {
		t.Fatalf("a delivery with oversized headers was queued: %d", d)
	}

	team := h.sim.Group(root.FullPath + "/DevopsTeam")
	p := h.sim.AddProject(team, "HeaderSizedService")
	ds := h.sim.Push(context.Background(), p.ID)
	if len(ds) != 1 || ds[0].Status != http.StatusAccepted {
		t.Fatalf("a real delivery: %+v", ds)
	}
	eventually(t, time.Second, "entity", func() bool { return h.entity("service", team.FullPath+"/HeaderSizedService") != nil })
	_, m := h.admin("GET", "/metrics", "")
	if !strings.Contains(m, "glsync_webhook_connections_refused_total 0") || !strings.Contains(m, "glsync_webhook_connections_open ") {
		t.Fatalf("connection metrics:\n%s", grep(m, "glsync_webhook_connections"))
	}
}
