//go:build linux

package ebpf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
)

// Probe is one kernel facility checked at start.
type Probe struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// ProbeKernel checks which BPF facilities load and attach on this kernel
// (each with a two-instruction program). The sensor uses raw tracepoints and
// a ring buffer; the others are reported so an operator can see why.
func ProbeKernel() []Probe {
	_ = rlimit.RemoveMemlock()
	ret0 := asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}
	try := func(name string, f func() error) Probe {
		err := f()
		p := Probe{Name: name, OK: err == nil}
		if err != nil {
			p.Error = err.Error()
		}
		return p
	}
	attach := func(spec *ebpf.ProgramSpec, do func(*ebpf.Program) (link.Link, error)) error {
		prog, err := ebpf.NewProgram(spec)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		defer prog.Close()
		l, err := do(prog)
		if err != nil {
			return fmt.Errorf("attach: %w", err)
		}
		return l.Close()
	}
	return []Probe{
		try("ringbuf", func() error { return features.HaveMapType(ebpf.RingBuf) }),
		try("raw_tracepoint", func() error {
			return attach(&ebpf.ProgramSpec{Type: ebpf.RawTracepoint, License: "GPL", Instructions: ret0},
				func(p *ebpf.Program) (link.Link, error) {
					return link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_exec", Program: p})
				})
		}),
		try("tp_btf", func() error {
			return attach(&ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceRawTp, AttachTo: "sched_process_exec", License: "GPL", Instructions: ret0},
				func(p *ebpf.Program) (link.Link, error) { return link.AttachTracing(link.TracingOptions{Program: p}) })
		}),
		try("fentry", func() error {
			return attach(&ebpf.ProgramSpec{Type: ebpf.Tracing, AttachType: ebpf.AttachTraceFEntry, AttachTo: "do_exit", License: "GPL", Instructions: ret0},
				func(p *ebpf.Program) (link.Link, error) { return link.AttachTracing(link.TracingOptions{Program: p}) })
		}),
		try("kprobe", func() error {
			return attach(&ebpf.ProgramSpec{Type: ebpf.Kprobe, License: "GPL", Instructions: ret0},
				func(p *ebpf.Program) (link.Link, error) { return link.Kprobe("do_exit", p, nil) })
		}),
		try("lsm", func() error {
			err := features.HaveProgramType(ebpf.LSM)
			if errors.Is(err, ebpf.ErrNotSupported) {
				return err
			}
			return attach(&ebpf.ProgramSpec{Type: ebpf.LSM, AttachType: ebpf.AttachLSMMac, AttachTo: "bprm_check_security", License: "GPL", Instructions: ret0},
				func(p *ebpf.Program) (link.Link, error) { return link.AttachLSM(link.LSMOptions{Program: p}) })
		}),
	}
}
