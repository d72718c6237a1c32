package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
)

// coordinationCases are the contract of what replicas share besides
// entities and events: secrets, settings, token mappings and resync
// requests to the leader.
var coordinationCases = []Case{
	{"SecretsSettingsAndTokenMappings", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		s := open()
		if _, ok, _ := s.HookSecret(ctx, "group:1"); ok {
			t.Fatal("unexpected secret")
		}
		must(t, s.PutHookSecret(ctx, catalog.HookSecret{Scope: "group:1", HookID: 7, URL: "https://x/integration/hook/1", Secret: "s1"}))
		must(t, s.PutHookSecret(ctx, catalog.HookSecret{Scope: "group:1", HookID: 8, URL: "https://x/integration/hook/1", Secret: "s2"}))
		must(t, s.PutHookSecret(ctx, catalog.HookSecret{Scope: "system", HookID: 9, URL: "https://x/integration/system/hook", Secret: "s3"}))
		h, ok, err := s.HookSecret(ctx, "group:1")
		if !ok || err != nil || h.Secret != "s2" || h.HookID != 8 {
			t.Fatalf("%+v %v %v", h, ok, err)
		}
		if sc, _ := s.HookScopes(ctx); fmt.Sprint(sc) != "[group:1 system]" {
			t.Fatalf("scopes %v", sc)
		}
		must(t, s.DeleteHookSecret(ctx, "group:1"))
		if _, ok, _ := s.HookSecret(ctx, "group:1"); ok {
			t.Fatal("secret not deleted")
		}
		must(t, s.PutTokenMapping(ctx, "b", []byte(`{"token":"2"}`)))
		must(t, s.PutTokenMapping(ctx, "a", []byte(`{"token":"1"}`)))
		must(t, s.PutTokenMapping(ctx, "a", []byte(`{"token":"3"}`)))
		names, values, err := s.TokenMappings(ctx)
		if err != nil || fmt.Sprint(names) != "[a b]" || string(values[0]) != `{"token":"3"}` {
			t.Fatalf("mappings %v %s %v", names, values, err)
		}
		if found, _ := s.DeleteTokenMapping(ctx, "a"); !found {
			t.Fatal("delete a: not found")
		}
		if found, _ := s.DeleteTokenMapping(ctx, "a"); found {
			t.Fatal("delete a twice: found")
		}
		if _, ok, err := s.Setting(ctx, "last_resync"); ok || err != nil {
			t.Fatalf("setting before put: %v %v", ok, err)
		}
		must(t, s.PutSetting(ctx, "last_resync", []byte(`{"run":1}`)))
		must(t, s.PutSetting(ctx, "last_resync", []byte(`{"run":2}`)))
		if v, ok, _ := open().Setting(ctx, "last_resync"); !ok || string(v) != `{"run":2}` {
			t.Fatalf("setting %s %v", v, ok)
		}
		if n, err := s.PruneDeliveries(ctx, time.Now()); n != 0 || err != nil {
			t.Fatalf("prune %d %v", n, err)
		}
	}},
	{"ResyncRequestsReachTheLeader", func(t *testing.T, open func() catalog.Backend) {
		ctx := context.Background()
		leader, other := open(), open()
		lead(t, leader)
		if name, err := other.Coordination().Leader(ctx); err != nil || name != leader.Coordination().Replica() {
			t.Fatalf("leader %q %v", name, err)
		}
		if ok, err := other.Coordination().RequestResync(ctx, "admin API"); !ok || err != nil {
			t.Fatalf("request %v %v", ok, err)
		}
		if ok, _ := other.Coordination().RequestResync(ctx, "again"); ok {
			t.Fatal("a second request while one waits must say so")
		}
		why, ok, err := leader.Coordination().TakeResyncRequest(ctx)
		if !ok || err != nil || why != "admin API" {
			t.Fatalf("take %q %v %v", why, ok, err)
		}
		if _, ok, _ := leader.Coordination().TakeResyncRequest(ctx); ok {
			t.Fatal("request taken twice")
		}
	}},
}
