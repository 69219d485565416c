//go:build linux && amd64

// Package ebpf is the runtime agent's eBPF sensor: the BPF programs of
// bpf/picket.bpf.c (compiled by bpf2go, output committed) on raw
// tracepoints, one ring buffer, and the user-space decoder that turns its
// records into event.Events.
package ebpf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/sensor/procfs"
)

// Name is the sensor's name in events and reports.
const Name = "ebpf"

// Sensor is the loaded and attached eBPF sensor; it implements
// event.Source. Run may be called once; it releases the kernel objects when
// it returns. Close releases them when Run is never called.
type Sensor struct {
	cfg   config
	objs  picketObjects
	links []link.Link
	rd    *ringbuf.Reader
	hooks []string
	clk   *clock
	fs    *procfs.FS
	procs *procCache
	fuse  *fuseLayers

	counts  map[event.Kind]*atomic.Uint64
	lost    atomic.Uint64
	skipped atomic.Uint64
	budget  budget

	stats     io.Closer // BPF run-time statistics, with WithProgramStats
	closeOnce sync.Once
	running   atomic.Bool
	mu        sync.Mutex
	closed    bool
	lastDrops []uint64 // per-CPU drops read at Close
	lastProgs map[string]ProgramStat
}

var _ event.Source = (*Sensor)(nil)

// ErrUnsupported is wrapped when this kernel or process cannot run the
// sensor (no BPF, no BTF, not privileged, a hook missing, the verifier
// refusing the programs): the caller falls back to another sensor.
var ErrUnsupported = errors.New("ebpf: unsupported")

// ErrRejected is wrapped (with ErrUnsupported) when the verifier refuses
// the programs: on a kernel that runs BPF, a bug to fix, not a platform
// limit.
var ErrRejected = errors.New("ebpf: programs rejected by the verifier")

// New loads the BPF programs, fills their maps and attaches them. The error
// wraps ErrUnsupported when the kernel refuses (the caller then falls back
// to another sensor).
func New(opts ...Option) (*Sensor, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("%w: memlock: %v", ErrUnsupported, err)
	}
	spec, err := loadPicket()
	if err != nil {
		return nil, fmt.Errorf("ebpf: %w", err)
	}
	spec.Maps["events"].MaxEntries = uint32(cfg.ringSize)
	self := uint32(0)
	if cfg.ignoreSelf {
		self = uint32(os.Getpid())
	}
	if err := spec.Variables["self_tgid"].Set(self); err != nil {
		return nil, fmt.Errorf("ebpf: %w", err)
	}
	rel := uint32(0)
	if cfg.relativeOpens {
		rel = 1
	}
	if err := spec.Variables["relative_opens"].Set(rel); err != nil {
		return nil, fmt.Errorf("ebpf: %w", err)
	}
	if err := spec.Variables["wakeup_bytes"].Set(uint64(cfg.wakeupBytes)); err != nil {
		return nil, fmt.Errorf("ebpf: %w", err)
	}

	s := &Sensor{cfg: cfg, clk: newClock(), fs: procfs.Default, procs: newProcCache(cfg.cacheSize), fuse: newFuseLayers("/proc")}
	s.counts = make(map[event.Kind]*atomic.Uint64)
	for _, k := range append([]event.Kind{event.Exec, event.Fork, event.Exit}, opKind[1:]...) {
		if k != "" && s.counts[k] == nil {
			s.counts[k] = new(atomic.Uint64)
		}
	}
	s.budget = budget{perSecond: cfg.relativeBudget}

	if err := spec.LoadAndAssign(&s.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("%w: %w: %v", ErrUnsupported, ErrRejected, ve)
		}
		return nil, fmt.Errorf("%w: load: %v", ErrUnsupported, err)
	}
	if err := s.fillMaps(); err != nil {
		s.Close()
		return nil, err
	}
	hooks := []struct {
		name string
		prog *ebpf.Program
	}{
		{"sched_process_exec", s.objs.HandleExec},
		{"sched_process_fork", s.objs.HandleFork},
		{"sched_process_exit", s.objs.HandleExit},
	}
	if cfg.syscalls {
		hooks = append(hooks, struct {
			name string
			prog *ebpf.Program
		}{"sys_enter", s.objs.HandleSysEnter}, struct {
			name string
			prog *ebpf.Program
		}{"sys_exit", s.objs.HandleSysExit})
	}
	for _, h := range hooks {
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: h.name, Program: h.prog})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("%w: attach raw_tracepoint/%s: %v", ErrUnsupported, h.name, err)
		}
		s.links = append(s.links, l)
		s.hooks = append(s.hooks, "raw_tracepoint/"+h.name)
	}
	if cfg.progStats {
		if s.stats, err = ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME)); err != nil {
			s.Close()
			return nil, fmt.Errorf("ebpf: enable program statistics: %w", err)
		}
	}
	s.rd, err = ringbuf.NewReader(s.objs.Events)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("ebpf: ring buffer reader: %w", err)
	}
	return s, nil
}

func (s *Sensor) fillMaps() error {
	if s.cfg.syscalls {
		for nr, op := range syscallOps {
			if err := s.objs.SyscallOps.Put(uint32(nr), uint32(op)); err != nil {
				return fmt.Errorf("ebpf: syscall_ops[%d]: %w", nr, err)
			}
		}
	}
	for _, w := range s.cfg.watches {
		if w.Name != "" {
			var k picketNameKey
			for i := 0; i < len(w.Name); i++ {
				k.Name[i] = int8(w.Name[i])
			}
			var v uint32
			if w.Read {
				v |= 1
			}
			if w.Write {
				v |= 2
			}
			if err := s.objs.WatchNames.Put(&k, v); err != nil {
				return fmt.Errorf("ebpf: watch name %q: %w", w.Name, err)
			}
			continue
		}
		k := picketWatchKey{}
		b := w.key()
		copy(k.Data[:], b)
		k.Prefixlen = uint32(len(b) * 8)
		var v uint32
		if w.Read {
			v |= 1
		}
		if w.Write {
			v |= 2
		}
		if err := s.objs.WatchPaths.Put(&k, v); err != nil {
			return fmt.Errorf("ebpf: watch %q: %w", w.Prefix, err)
		}
	}
	return nil
}

// Name implements event.Source.
func (s *Sensor) Name() string { return Name }

// Hooks lists the attached hooks ("raw_tracepoint/sched_process_exec", ...).
func (s *Sensor) Hooks() []string { return append([]string(nil), s.hooks...) }

// Close detaches the programs and frees the maps. Safe to call twice.
func (s *Sensor) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.lastDrops = s.readDrops()
		s.lastProgs = s.readProgramStats()
		s.closed = true
		s.mu.Unlock()
		if s.rd != nil {
			s.rd.Close()
		}
		for _, l := range s.links {
			l.Close()
		}
		if s.stats != nil {
			s.stats.Close()
		}
		s.objs.Close()
	})
	return nil
}

// Run implements event.Source: it reads the ring buffer until ctx ends,
// then detaches everything.
func (s *Sensor) Run(ctx context.Context, out chan<- *event.Event) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("ebpf: Run called twice")
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { s.rd.Close() })
	defer stop()
	s.prefill()

	var rec ringbuf.Record
	if s.cfg.wakeupBytes > 0 {
		s.rd.SetDeadline(time.Now().Add(s.cfg.poll))
	}
	for {
		if err := s.rd.ReadInto(&rec); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// Batching: records below the wakeup threshold have been
				// read; wait one more poll interval.
				s.rd.SetDeadline(time.Now().Add(s.cfg.poll))
				continue
			}
			if errors.Is(err, os.ErrClosed) {
				return nil
			}
			return fmt.Errorf("ebpf: read ring buffer: %w", err)
		}
		ev, err := s.decode(rec.RawSample)
		if err != nil {
			s.lost.Add(1)
			s.cfg.log.Debug("ebpf: dropping record", "err", err)
			continue
		}
		if ev == nil {
			continue // filtered in user space
		}
		if c := s.counts[ev.Kind]; c != nil {
			c.Add(1)
		}
		if !event.Deliver(ctx, out, ev, s.cfg.full == Drop, &s.lost) {
			return nil
		}
	}
}

// prefill caches the processes already running so that their events carry
// exe, args and cwd.
func (s *Sensor) prefill() {
	pids, err := s.fs.PIDs()
	if err != nil {
		return
	}
	for _, pid := range pids {
		if p, err := s.fs.Process(pid); err == nil || p.Comm != "" {
			s.procs.put(pid, infoFrom(&p))
		}
	}
}

// ProgramStats reports each attached program's runs and total run time,
// keyed by hook ("sched_process_exec", "sys_enter", ...). Empty unless
// WithProgramStats is on; after Close, the figures at Close.
func (s *Sensor) ProgramStats() map[string]ProgramStat {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.lastProgs
	}
	return s.readProgramStats()
}

func (s *Sensor) readProgramStats() map[string]ProgramStat {
	out := map[string]ProgramStat{}
	if s.stats == nil {
		return out
	}
	for name, p := range map[string]*ebpf.Program{
		"sched_process_exec": s.objs.HandleExec, "sched_process_fork": s.objs.HandleFork,
		"sched_process_exit": s.objs.HandleExit, "sys_enter": s.objs.HandleSysEnter, "sys_exit": s.objs.HandleSysExit,
	} {
		if st, err := p.Stats(); err == nil {
			out[name] = ProgramStat{Runs: st.RunCount, Runtime: st.Runtime}
		}
	}
	return out
}

// Stats implements event.Source.
func (s *Sensor) Stats() event.Stats {
	st := event.Stats{Events: make(map[event.Kind]uint64, len(s.counts)), Lost: s.lost.Load(), Skipped: s.skipped.Load()}
	for k, c := range s.counts {
		if n := c.Load(); n > 0 {
			st.Events[k] = n
		}
	}
	s.mu.Lock()
	if s.closed {
		st.Drops = append([]uint64(nil), s.lastDrops...)
	} else {
		st.Drops = s.readDrops()
	}
	s.mu.Unlock()
	return st
}

func (s *Sensor) readDrops() []uint64 {
	var drops []uint64
	if s.objs.Drops == nil {
		return nil
	}
	if err := s.objs.Drops.Lookup(uint32(0), &drops); err != nil {
		return nil
	}
	return drops
}

// decode turns one ring-buffer record into an event (nil: filtered).
func (s *Sensor) decode(b []byte) (*event.Event, error) {
	r, err := view(b)
	if err != nil {
		return nil, err
	}
	e := &event.Event{Sensor: Name, KernelTime: r.hdr.Ktime, Time: s.clk.wall(r.hdr.Ktime)}
	switch r.kind {
	case kindExec:
		decodeExec(e, r.exec, s.clk)
		if r.exec.ExeMagic == fuseMagic {
			// fuse-overlayfs: the kernel cannot see layers; look up the
			// mount's upper directory.
			e.Proc.UpperLayer, _ = s.fuse.inUpper(kernelDev(r.exec.ExeDev), e.Proc.Exe)
		}
		s.procs.put(e.Proc.PID, infoFrom(&e.Proc))
		s.parent(e)
	case kindFork:
		e.Kind = event.Fork
		fillProc(&e.Proc, r.hdr, s.clk)
		if pi := s.procs.get(e.Proc.PPID); pi != nil {
			s.procs.put(e.Proc.PID, pi)
		}
		s.enrich(e)
	case kindExit:
		e.Kind = event.Exit
		fillProc(&e.Proc, r.hdr, s.clk)
		code := r.exit.ExitCode
		e.ExitCode = int32(code>>8) & 0xff
		e.Signal = int32(code & 0x7f)
		s.enrich(e)
		s.procs.del(e.Proc.PID)
	case kindSyscall, kindOpen:
		if !s.cfg.runtimeSetup && isRuntimeSetup(r.hdr.Comm[:]) {
			s.skipped.Add(1)
			return nil, nil
		}
		decodeSys(e, r.sys, s.clk)
		if !s.resolve(e, r) {
			return nil, nil
		}
		s.enrich(e)
	}
	return e, nil
}

// resolve completes paths that need /proc: relative opens (matched against
// the watches here, under a budget), fchmod and finit_module descriptors.
func (s *Sensor) resolve(e *event.Event, r raw) bool {
	pid := e.Proc.PID
	sys := r.sys
	switch sys.Op {
	case opOpen, opOpenat, opOpenat2:
		if sys.Aux&auxRelative == 0 {
			return true
		}
		if r.open != nil && r.open.Resolved.Depth > 0 {
			// Succeeded: the kernel walked the opened file's path.
			e.File.Path = joinPath(&r.open.Resolved)
			return matchWatches(s.cfg.watches, e.File.Path, e.File.Write)
		}
		// Failed (or unresolvable): join with the cwd from /proc, under a
		// budget since it costs a readlink and races with the process.
		if !s.budget.take(s.cfg.now()) {
			s.skipped.Add(1)
			return false
		}
		base := ""
		dirfd := int32(sys.Args[0])
		if sys.Op == opOpen || dirfd == atFDCWD {
			base = s.fs.Cwd(pid)
		} else {
			base = s.fs.FDPath(pid, int64(dirfd))
		}
		if base == "" {
			s.skipped.Add(1)
			return false
		}
		e.File.Path = filepath.Join(base, e.File.Path)
		return matchWatches(s.cfg.watches, e.File.Path, e.File.Write)
	case opFchmod:
		e.File.Path = s.fs.FDPath(pid, int64(int32(sys.Args[0])))
	case opFinitModule:
		if p := s.fs.FDPath(pid, int64(int32(sys.Args[0]))); p != "" {
			e.File = &event.File{Path: p}
			e.Module.Name = moduleName(p)
		}
	}
	return true
}

const atFDCWD = -100

// isRuntimeSetup: comm is runc's while it sets a container up.
func isRuntimeSetup(comm []int8) bool {
	const p = "runc:["
	for i := 0; i < len(p); i++ {
		if i >= len(comm) || byte(comm[i]) != p[i] {
			return false
		}
	}
	return true
}

func moduleName(path string) string {
	n := filepath.Base(path)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		n = strings.TrimSuffix(n, ext)
	}
	return strings.TrimSuffix(n, ".ko")
}

// enrich fills what the kernel record lacks from the process cache (or
// /proc for a process the sensor has not seen exec).
func (s *Sensor) enrich(e *event.Event) {
	pi := s.procs.get(e.Proc.PID)
	if pi == nil {
		p, err := s.fs.Process(e.Proc.PID)
		if err != nil && p.Comm == "" {
			s.parent(e)
			return
		}
		pi = infoFrom(&p)
		s.procs.put(e.Proc.PID, pi)
	}
	e.Proc.Exe = pi.exe
	e.Proc.Filename = pi.filename
	e.Proc.Args = pi.args
	e.Proc.Cwd = pi.cwd
	e.Proc.UpperLayer = pi.upper
	e.Proc.ExeDeleted = pi.deleted
	s.parent(e)
}

func (s *Sensor) parent(e *event.Event) {
	if pp := s.procs.get(e.Proc.PPID); pp != nil {
		e.Proc.ParentExe = pp.exe
		e.Proc.ParentComm = pp.comm
	}
}

// procInfo is what the cache keeps per process (immutable once stored).
type procInfo struct {
	exe, filename, cwd, comm string
	args                     []string
	upper, deleted           bool
}

func infoFrom(p *event.Process) *procInfo {
	return &procInfo{exe: p.Exe, filename: p.Filename, cwd: p.Cwd, comm: p.Comm, args: p.Args, upper: p.UpperLayer, deleted: p.ExeDeleted}
}

// procCache is a bounded pid → procInfo map, used by Run's goroutine only.
type procCache struct {
	max int
	m   map[uint32]*procInfo
}

func newProcCache(max int) *procCache {
	return &procCache{max: max, m: make(map[uint32]*procInfo)}
}

func (c *procCache) get(pid uint32) *procInfo { return c.m[pid] }
func (c *procCache) del(pid uint32)           { delete(c.m, pid) }

func (c *procCache) put(pid uint32, pi *procInfo) {
	if _, ok := c.m[pid]; !ok && len(c.m) >= c.max {
		// Full: forget an eighth (map order is random enough); entries come
		// back from /proc when needed.
		n := c.max / 8
		for k := range c.m {
			if n == 0 {
				break
			}
			delete(c.m, k)
			n--
		}
	}
	c.m[pid] = pi
}

// budget is a token bucket refilled every second.
type budget struct {
	perSecond int
	window    time.Time
	used      int
}

func (b *budget) take(now time.Time) bool {
	if now.Sub(b.window) >= time.Second {
		b.window, b.used = now, 0
	}
	if b.used >= b.perSecond {
		return false
	}
	b.used++
	return true
}
