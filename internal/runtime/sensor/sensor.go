//go:build linux

// Package sensor opens the runtime agent's event sources: the eBPF sensor
// when this kernel loads it, otherwise the netlink proc connector (process
// events, details from /proc) together with fanotify (opens of watched
// files). Open probes, opens what works and reports which sensors are
// active and why the others are not.
package sensor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/sensor/ebpf"
	"github.com/picket-cdr/picket/internal/runtime/sensor/fanotify"
	"github.com/picket-cdr/picket/internal/runtime/sensor/procconn"
)

// Sensor names accepted by WithSensors.
const (
	EBPF          = ebpf.Name     // "ebpf"
	ProcConnector = procconn.Name // "proc_connector"
	Fanotify      = fanotify.Name // "fanotify"
)

// Kinds each sensor produces.
var (
	ebpfKinds = []event.Kind{event.Exec, event.Fork, event.Exit, event.Connect, event.Accept, event.Bind,
		event.DupFD, event.Open, event.Chmod, event.SetUID, event.SetGID, event.Capset, event.PtraceOp,
		event.Memfd, event.ModuleLoad, event.MountOp, event.Unshare, event.Setns}
	procconnKinds = []event.Kind{event.Exec, event.Fork, event.Exit, event.SetUID, event.SetGID, event.PtraceOp}
	fanotifyKinds = []event.Kind{event.Open}
)

// Status is one sensor's state after Open.
type Status struct {
	Name   string       `json:"name"`
	Active bool         `json:"active"`
	Hooks  []string     `json:"hooks,omitempty"`  // what it is attached to
	Kinds  []event.Kind `json:"kinds,omitempty"`  // event kinds it produces
	Reason string       `json:"reason,omitempty"` // why it is not active
}

// Report says what Open found and opened.
type Report struct {
	Kernel  string       `json:"kernel"`
	Sensors []Status     `json:"sensors"`
	Probes  []ebpf.Probe `json:"probes,omitempty"` // BPF facilities on this kernel
}

// Active lists the names of the active sensors.
func (r Report) Active() []string {
	var n []string
	for _, s := range r.Sensors {
		if s.Active {
			n = append(n, s.Name)
		}
	}
	return n
}

// String is a one-line summary for logs.
func (r Report) String() string {
	var parts []string
	for _, s := range r.Sensors {
		if s.Active {
			parts = append(parts, s.Name+"=active("+strings.Join(s.Hooks, ",")+")")
		} else {
			parts = append(parts, s.Name+"=inactive("+s.Reason+")")
		}
	}
	return "kernel " + r.Kernel + ": " + strings.Join(parts, " ")
}

type config struct {
	log     *slog.Logger
	sensors []string
	ebpf    []ebpf.Option
	drop    bool
	probe   bool
}

// Option configures Open.
type Option func(*config)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithSensors restricts the sensors tried (default: ebpf, proc_connector,
// fanotify). eBPF sees everything, so when it opens the others are not
// opened; otherwise the proc connector (processes) and fanotify (files)
// are opened together. Naming proc_connector and fanotify only forces the
// fallback.
func WithSensors(names ...string) Option { return func(c *config) { c.sensors = names } }

// WithEBPF passes options to the eBPF sensor (ring buffer size, watched
// paths, relative-open budget, syscall hooks).
func WithEBPF(opts ...ebpf.Option) Option {
	return func(c *config) { c.ebpf = append(c.ebpf, opts...) }
}

// WithDropWhenFull makes every sensor drop events (counted in Stats.Lost)
// when the output channel is full, instead of blocking (the default, which
// lets the kernel ring buffer absorb bursts and count its own drops).
func WithDropWhenFull() Option { return func(c *config) { c.drop = true } }

// WithProbes adds the kernel facility probes (tp_btf, fentry, kprobe, LSM,
// ...) to the report; they take a few milliseconds.
func WithProbes() Option { return func(c *config) { c.probe = true } }

// ErrNoSensor is returned when no sensor could be opened.
var ErrNoSensor = errors.New("sensor: no sensor could be opened")

// Open opens the sensors that work here: eBPF, or when it fails the proc
// connector and fanotify.
// The sources are not running: call Run on each (Run releases the kernel
// objects when it returns). ctx bounds the opening only.
func Open(ctx context.Context, opts ...Option) ([]event.Source, Report, error) {
	c := config{log: slog.New(slog.DiscardHandler), sensors: []string{EBPF, ProcConnector, Fanotify}}
	for _, o := range opts {
		o(&c)
	}
	rep := Report{Kernel: kernelRelease()}
	if c.probe {
		rep.Probes = ebpf.ProbeKernel()
	}
	for _, n := range c.sensors {
		if n != EBPF && n != ProcConnector && n != Fanotify {
			return nil, rep, fmt.Errorf("sensor: unknown sensor %q (want %s, %s or %s)", n, EBPF, ProcConnector, Fanotify)
		}
	}
	var srcs []event.Source
	for _, name := range c.sensors {
		if err := ctx.Err(); err != nil {
			closeAll(srcs)
			return nil, rep, fmt.Errorf("sensor: %w", err)
		}
		if len(srcs) > 0 && srcs[0].Name() == EBPF {
			rep.Sensors = append(rep.Sensors, Status{Name: name, Reason: "not needed: " + EBPF + " is active"})
			continue
		}
		switch name {
		case EBPF:
			eo := c.ebpf
			if c.drop {
				eo = append(slices.Clone(eo), ebpf.WithFullPolicy(ebpf.Drop))
			}
			eo = append(eo, ebpf.WithLogger(c.log))
			s, err := ebpf.New(eo...)
			if err != nil {
				c.log.Warn("sensor: eBPF sensor unavailable", "err", err)
				rep.Sensors = append(rep.Sensors, Status{Name: name, Reason: err.Error()})
				continue
			}
			srcs = append(srcs, s)
			rep.Sensors = append(rep.Sensors, Status{Name: name, Active: true, Hooks: s.Hooks(), Kinds: ebpfKinds})
		case ProcConnector:
			var po []procconn.Option
			if c.drop {
				po = append(po, procconn.WithDropWhenFull())
			}
			s, err := procconn.New(po...)
			if err != nil {
				c.log.Warn("sensor: proc connector unavailable", "err", err)
				rep.Sensors = append(rep.Sensors, Status{Name: name, Reason: err.Error()})
				continue
			}
			srcs = append(srcs, s)
			rep.Sensors = append(rep.Sensors, Status{Name: name, Active: true, Hooks: s.Hooks(), Kinds: procconnKinds})
		case Fanotify:
			var ws []fanotify.Watch
			for _, w := range ebpf.WatchesOf(c.ebpf...) {
				if w.Prefix == "" {
					continue // file names anywhere: eBPF only
				}
				ws = append(ws, fanotify.Watch{Path: strings.TrimSuffix(w.Prefix, "$"), Read: w.Read, Write: w.Write})
			}
			var fo []fanotify.Option
			if c.drop {
				fo = append(fo, fanotify.WithDropWhenFull())
			}
			s, err := fanotify.New(ws, fo...)
			if err != nil {
				c.log.Warn("sensor: fanotify unavailable", "err", err)
				rep.Sensors = append(rep.Sensors, Status{Name: name, Reason: err.Error()})
				continue
			}
			srcs = append(srcs, s)
			rep.Sensors = append(rep.Sensors, Status{Name: name, Active: true, Hooks: s.Hooks(), Kinds: fanotifyKinds})
		}
	}
	if len(srcs) == 0 {
		return nil, rep, fmt.Errorf("%w: %s", ErrNoSensor, rep)
	}
	c.log.Info("sensor: opened", "report", rep.String())
	return srcs, rep, nil
}

// Close releases sources that were opened but will not be run.
func Close(srcs []event.Source) { closeAll(srcs) }

func closeAll(srcs []event.Source) {
	for _, s := range srcs {
		if c, ok := s.(interface{ Close() error }); ok {
			c.Close()
		}
	}
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}
