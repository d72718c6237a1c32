package gitlabtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/whsig"
)

// signingAPI calls the hooks API with the first root's token and returns
// the status and the decoded answer.
func signingAPI(t *testing.T) (*Server, Org, func(method, path, body string) (int, map[string]any)) {
	s := New(Options{Seed: 1})
	org := s.Generate(OrgSpec{Roots: 1, Projects: 3, Depth: 1, Seed: 1})
	ts := s.Start(t)
	return s, org, func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+"/api/v4/"+path, strings.NewReader(body))
		req.Header.Set("PRIVATE-TOKEN", org.RootTokens[0])
		if strings.HasPrefix(path, "hooks") {
			req.Header.Set("PRIVATE-TOKEN", org.AdminToken)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
}

const goodSigningToken = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// The hooks API takes signing_token as GitLab 19 does: validated (400 with
// GitLab's validation shape), never returned, shown as
// signing_token_present beside token_present, on group and system hooks.
func TestSigningTokenAPI(t *testing.T) {
	s, org, do := signingAPI(t)
	gid := org.Roots[0].ID
	for _, base := range []string{fmt.Sprintf("groups/%d/hooks", gid), "hooks"} {
		for _, bad := range []string{"secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_###"} {
			code, m := do(http.MethodPost, base, `{"url":"http://127.0.0.1:1/a","signing_token":"`+bad+`"}`)
			msg, _ := m["message"].(map[string]any)
			if code != http.StatusBadRequest || msg == nil || fmt.Sprint(msg["signing_token"]) != "["+signingTokenMessage+"]" {
				t.Fatalf("%s with signing_token %q: %d %v", base, bad, code, m)
			}
		}
		code, h := do(http.MethodPost, base, `{"url":"http://127.0.0.1:1/a","signing_token":"`+goodSigningToken+`"}`)
		if code != http.StatusCreated || h["signing_token_present"] != true || h["token_present"] != false {
			t.Fatalf("%s create: %d %v", base, code, h)
		}
		if _, ok := h["signing_token"]; ok {
			t.Fatal("signing_token returned")
		}
		path := base + "/" + strconv.FormatInt(int64(h["id"].(float64)), 10)
		if code, m := do(http.MethodPut, path, `{"signing_token":"nope"}`); code != http.StatusBadRequest {
			t.Fatalf("update with a bad token: %d %v", code, m)
		}
		if code, m := do(http.MethodPut, path, `{"token":"legacy"}`); code != http.StatusOK || m["signing_token_present"] != true || m["token_present"] != true {
			t.Fatalf("update keeping the signing token: %d %v", code, m)
		}
		if code, m := do(http.MethodPut, path, `{"signing_token":""}`); code != http.StatusOK || m["signing_token_present"] != false {
			t.Fatalf("clearing the signing token: %d %v", code, m)
		}
	}

	// The feature flag off: accepted, silently ignored, present false.
	s.SetSigningSupport(SigningFlagOff)
	code, h := do(http.MethodPost, fmt.Sprintf("groups/%d/hooks", gid), `{"url":"http://127.0.0.1:1/b","signing_token":"`+goodSigningToken+`"}`)
	if code != http.StatusCreated || h["signing_token_present"] != false {
		t.Fatalf("flag off: %d %v", code, h)
	}
	// Before 19.0: the parameter unknown, no presence fields.
	s.SetSigningSupport(SigningUnsupported)
	code, h = do(http.MethodPost, fmt.Sprintf("groups/%d/hooks", gid), `{"url":"http://127.0.0.1:1/c","signing_token":"whsec_x"}`)
	if _, ok := h["signing_token_present"]; code != http.StatusCreated || ok {
		t.Fatalf("GitLab 18: %d %v", code, h)
	}
}

// Each delivery of a hook with a signing token carries webhook-id (the
// Idempotency-Key), webhook-timestamp (now, in Unix seconds) and
// webhook-signature over the exact body, checked here with the
// hand-computed key of whsig's test; X-Gitlab-Token still goes along.
func TestSignedDeliveries(t *testing.T) {
	s, org, _ := setup(t, 10)
	rcv, got := receiver(t)
	root := org.Roots[0]
	var raw []byte
	s.mu.Lock()
	s.hooks[1] = &Hook{ID: 1, GroupID: root.ID, URL: rcv.URL + "/g", Token: "sekret", SigningToken: goodSigningToken,
		Events: map[string]bool{"push_events": true}}
	s.hooks[2] = &Hook{ID: 2, URL: rcv.URL + "/s", Token: "sys", Events: map[string]bool{"push_events": true}}
	s.mu.Unlock()
	var pid int64
	for _, p := range s.Projects() {
		if strings.HasPrefix(p.PathWithNamespace, root.Path+"/") {
			pid = p.ID
			break
		}
	}
	before := time.Now().Unix()
	ds := s.Push(context.Background(), pid)
	if len(ds) != 2 {
		t.Fatalf("deliveries: %v", ds)
	}
	c := got()
	key, _ := whsig.Key(goodSigningToken)
	for i, d := range ds {
		h := c[i].header
		if d.HookID == 2 {
			if h.Get(whsig.HeaderSignature) != "" || h.Get(whsig.HeaderID) != "" {
				t.Fatal("a hook without a signing token signed")
			}
			continue
		}
		raw = d.Body
		ts, _ := strconv.ParseInt(h.Get(whsig.HeaderTimestamp), 10, 64)
		if h.Get(whsig.HeaderID) != h.Get("Idempotency-Key") || ts < before || ts > time.Now().Unix() || h.Get("X-Gitlab-Token") != "sekret" {
			t.Fatalf("headers: %v", h)
		}
		if want := whsig.Sign(key, h.Get(whsig.HeaderID), ts, raw); h.Get(whsig.HeaderSignature) != want {
			t.Fatalf("signature %s, want %s", h.Get(whsig.HeaderSignature), want)
		}
		if d.Header.Get(whsig.HeaderSignature) != h.Get(whsig.HeaderSignature) {
			t.Fatal("Delivery.Header is not what was sent")
		}
	}
}
