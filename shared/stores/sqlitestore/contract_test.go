package sqlitestore

import (
	"testing"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/stores/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() catalog.Backend {
		dir := t.TempDir()
		return func() catalog.Backend {
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	})
}
