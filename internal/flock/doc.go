package flock

import "errors"

// ErrUnsupported is returned where flock(2) does not exist.
var ErrUnsupported = errors.New("flock: not supported on this system")
