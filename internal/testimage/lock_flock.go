//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package testimage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockFile takes an exclusive flock on os.TempDir()/picket-testimage-NAME.lock,
// waiting (and polling ctx) while another process — `go test ./...` runs test
// binaries in parallel — holds it. The returned function releases it.
func lockFile(ctx context.Context, name string) (func(), error) {
	path := filepath.Join(os.TempDir(), "picket-testimage-"+name+".lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("testimage: lock: %w", err)
	}
	fd := int(f.Fd())
	waited := false
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(fd, syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("testimage: flock %s: %w", path, err)
		}
		if !waited {
			logf(ctx, "testimage: waiting for another process holding %s", path)
			waited = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("testimage: waiting for %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
