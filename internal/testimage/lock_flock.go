package testimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/picket-cdr/picket/internal/flock"
)

// lockFile takes an exclusive lock on os.TempDir()/picket-testimage-NAME.lock,
// waiting while another process — `go test ./...` runs test binaries in
// parallel — holds it. The returned function releases it.
func lockFile(ctx context.Context, name string) (func(), error) {
	path := filepath.Join(os.TempDir(), "picket-testimage-"+name+".lock")
	unlock, err := flock.Lock(ctx, path, func() { logf(ctx, "testimage: waiting for another process holding %s", path) })
	if errors.Is(err, flock.ErrUnsupported) {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err != nil {
		return nil, fmt.Errorf("testimage: %w", err)
	}
	return unlock, nil
}
