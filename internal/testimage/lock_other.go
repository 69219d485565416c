//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package testimage

import (
	"context"
	"fmt"
	"runtime"
)

func lockFile(ctx context.Context, name string) (func(), error) {
	return nil, fmt.Errorf("%w: no flock on %s", ErrUnavailable, runtime.GOOS)
}
