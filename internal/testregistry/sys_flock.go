package testregistry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/picket-cdr/picket/internal/flock"
)

// lockFile takes an exclusive lock on os.TempDir()/picket-testregistry-NAME.lock,
// waiting while another process holds it.
func lockFile(ctx context.Context, name string) (func(), error) {
	path := filepath.Join(os.TempDir(), "picket-testregistry-"+name+".lock")
	unlock, err := flock.Lock(ctx, path, nil)
	if err != nil {
		return nil, fmt.Errorf("testregistry: %w", err)
	}
	return unlock, nil
}
