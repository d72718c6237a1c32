package whsig

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"
)

// The published Standard Webhooks vector (testdata names its source): a
// receiver library computing the same string reads our signatures, and
// ours reads GitLab's, which its MR validates with that library.
func TestStandardWebhooksVector(t *testing.T) {
	raw, err := os.ReadFile("testdata/standard-webhooks-vector.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Secret, MsgID, Payload, Signature string
		Timestamp                         int64
	}
	if err := json.Unmarshal(raw, &struct {
		Secret    *string `json:"secret"`
		MsgID     *string `json:"msg_id"`
		Timestamp *int64  `json:"timestamp"`
		Payload   *string `json:"payload"`
		Signature *string `json:"signature"`
	}{&v.Secret, &v.MsgID, &v.Timestamp, &v.Payload, &v.Signature}); err != nil {
		t.Fatal(err)
	}
	key, err := Key(v.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if got := Sign(key, v.MsgID, v.Timestamp, []byte(v.Payload)); got != v.Signature {
		t.Fatalf("Sign = %s, want %s", got, v.Signature)
	}
	at := time.Unix(v.Timestamp, 0)
	if err := Verify([][]byte{key}, v.MsgID, "1614265330", "v1,bm9wZQ== "+v.Signature, []byte(v.Payload), at); err != nil {
		t.Fatalf("Verify of the vector among other entries: %v", err)
	}
}

// A vector computed apart from this package (Python's hmac and base64 on
// a 32-byte key 0x00..0x1f), in GitLab's token format.
func TestHandComputedVector(t *testing.T) {
	const token = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	if !ValidGitLabToken(token) {
		t.Fatal("token refused")
	}
	key, _ := Key(token)
	got := Sign(key, "0f7e5c86-1a2b-4c3d-8e9f-001122334455", 1765098000, []byte(`{"object_kind":"push"}`))
	if want := "v1,+UvOAbj1jyyf7+VIErRMWZeExeDMNNo1aZrzDLvbuMQ="; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestValidGitLabToken(t *testing.T) {
	for tok, want := range map[string]bool{
		NewToken():                                          true,
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw":            false, // 24 bytes
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=":      false, // no prefix
		"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8": false, // not padded
		"whsec_!!!": false,
		"":          false,
	} {
		if ValidGitLabToken(tok) != want {
			t.Errorf("ValidGitLabToken(%q) = %v", tok, !want)
		}
	}
}

func TestVerifyRefusals(t *testing.T) {
	key, _ := Key(NewToken())
	other, _ := Key(NewToken())
	now := time.Unix(1765098000, 0)
	body := []byte(`{"a":1}`)
	sig := Sign(key, "id1", now.Unix(), body)
	cases := []struct {
		name, id, ts, sig string
		body              []byte
		keys              [][]byte
		reason            string
	}{
		{"wrong key", "id1", "1765098000", sig, body, [][]byte{other}, ReasonMismatch},
		{"other body", "id1", "1765098000", sig, []byte(`{"a":2}`), [][]byte{key}, ReasonMismatch},
		{"other id", "id2", "1765098000", sig, body, [][]byte{key}, ReasonMismatch},
		{"v2 entry", "id1", "1765098000", "v2," + sig[3:], body, [][]byte{key}, ReasonMismatch},
		{"stale", "id1", "1765097699", Sign(key, "id1", 1765097699, body), body, [][]byte{key}, ReasonTimestamp},
		{"future", "id1", "1765098301", Sign(key, "id1", 1765098301, body), body, [][]byte{key}, ReasonTimestamp},
		{"not a number", "id1", "soon", sig, body, [][]byte{key}, ReasonTimestamp},
		{"no id", "", "1765098000", sig, body, [][]byte{key}, ReasonMissing},
		{"no signature", "id1", "1765098000", "", body, [][]byte{key}, ReasonMissing},
	}
	for _, c := range cases {
		err := Verify(c.keys, c.id, c.ts, c.sig, c.body, now)
		var e *Error
		if !errors.As(err, &e) || e.Reason != c.reason {
			t.Errorf("%s: %v, want reason %s", c.name, err, c.reason)
		}
	}
	// The window's edges are inside it; a rotation's second key matches.
	if err := Verify([][]byte{other, key}, "id1", "1765097700", Sign(key, "id1", 1765097700, body), body, now); err != nil {
		t.Errorf("5 minutes old, second key: %v", err)
	}
}
