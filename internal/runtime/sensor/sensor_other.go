//go:build !linux

package sensor

import (
	"context"
	"errors"
	"log/slog"

	"github.com/picket-cdr/picket/internal/runtime/event"
)

// Sensor names.
const (
	EBPF          = "ebpf"
	ProcConnector = "proc_connector"
)

// Status is one sensor's state after Open.
type Status struct {
	Name   string       `json:"name"`
	Active bool         `json:"active"`
	Hooks  []string     `json:"hooks,omitempty"`
	Kinds  []event.Kind `json:"kinds,omitempty"`
	Reason string       `json:"reason,omitempty"`
}

// Report says what Open found.
type Report struct {
	Kernel  string   `json:"kernel"`
	Sensors []Status `json:"sensors"`
}

// Option configures Open.
type Option func()

// WithLogger is accepted and ignored on this platform.
func WithLogger(*slog.Logger) Option { return func() {} }

// ErrNoSensor is returned when no sensor could be opened.
var ErrNoSensor = errors.New("sensor: no sensor could be opened")

// Open fails: the runtime sensors need Linux.
func Open(context.Context, ...Option) ([]event.Source, Report, error) {
	return nil, Report{}, errors.Join(ErrNoSensor, errors.New("sensor: the runtime sensors need Linux"))
}

// Close releases sources that will not be run.
func Close([]event.Source) {}
