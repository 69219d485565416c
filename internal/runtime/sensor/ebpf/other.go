//go:build !linux || !amd64

// Package ebpf is the runtime agent's eBPF sensor. On this platform the BPF
// object is not built (bpf2go output exists for linux/amd64 only), so New
// always fails with ErrUnsupported and the agent falls back.
package ebpf

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/picket-cdr/picket/internal/runtime/event"
)

// Name is the sensor's name in events and reports.
const Name = "ebpf"

// ErrUnsupported is wrapped when the sensor cannot run here.
var ErrUnsupported = errors.New("ebpf: unsupported")

// ErrRejected is never returned on this platform.
var ErrRejected = errors.New("ebpf: programs rejected by the verifier")

// Sensor is not available on this platform.
type Sensor struct{}

// New fails: no BPF object for this platform.
func New(...Option) (*Sensor, error) {
	return nil, fmt.Errorf("%w: no BPF object for %s/%s", ErrUnsupported, runtime.GOOS, runtime.GOARCH)
}

// Name implements event.Source.
func (*Sensor) Name() string { return Name }

// Hooks lists no hooks.
func (*Sensor) Hooks() []string { return nil }

// Run fails.
func (*Sensor) Run(context.Context, chan<- *event.Event) error { return ErrUnsupported }

// Stats is empty.
func (*Sensor) Stats() event.Stats { return event.Stats{} }

// ProgramStats is empty.
func (*Sensor) ProgramStats() map[string]ProgramStat { return nil }

// Close does nothing.
func (*Sensor) Close() error { return nil }
