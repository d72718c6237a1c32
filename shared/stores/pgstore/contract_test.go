package pgstore

import (
	"context"
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore/pgtest"
	"github.com/glsync/terraform-provider-glsync/shared/stores/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() catalog.Backend {
		url := pgtest.URL(t)
		n := 0
		return func() catalog.Backend {
			n++
			s, err := Open(context.Background(), url, Options{Replica: "replica-" + string(rune('a'-1+n))})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}
