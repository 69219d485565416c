package ebpf

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Watch says what opens of paths under Prefix, or of files called Name,
// are reported. Set one of Prefix and Name.
type Watch struct {
	// Prefix is an absolute path prefix ("/etc/", "/etc/shadow"). A prefix
	// ending in "$" matches that exact path only ("/etc/shadow$").
	Prefix string
	// Name is a file name matched in any directory ("release_agent",
	// "id_rsa"), at most 31 bytes.
	Name  string
	Read  bool // any open (reads included)
	Write bool // opens for writing, creating or truncating
}

// DefaultWatches are the sensitive paths watched unless WithWatches replaces
// them: writes below system binary, library and configuration directories;
// any open of credential and key files.
var DefaultWatches = []Watch{
	{Prefix: "/bin/", Write: true},
	{Prefix: "/sbin/", Write: true},
	{Prefix: "/usr/bin/", Write: true},
	{Prefix: "/usr/sbin/", Write: true},
	{Prefix: "/usr/local/bin/", Write: true},
	{Prefix: "/usr/local/sbin/", Write: true},
	{Prefix: "/lib/", Write: true},
	{Prefix: "/lib64/", Write: true},
	{Prefix: "/usr/lib/", Write: true},
	{Prefix: "/usr/lib64/", Write: true},
	{Prefix: "/etc/", Write: true},
	{Prefix: "/boot/", Write: true},
	{Prefix: "/var/spool/cron/", Write: true},
	{Prefix: "/proc/sys/", Write: true},
	{Prefix: "/proc/sysrq-trigger$", Write: true},
	{Prefix: "/sys/kernel/", Write: true},
	{Prefix: "/var/log/", Write: true},
	{Prefix: "/var/run/docker.sock$", Read: true, Write: true},
	{Prefix: "/run/docker.sock$", Read: true, Write: true},
	{Prefix: "/etc/shadow", Read: true, Write: true},
	{Prefix: "/etc/gshadow", Read: true, Write: true},
	{Prefix: "/etc/sudoers", Read: true, Write: true},
	{Prefix: "/etc/ssh/ssh_host_", Read: true, Write: true},
	{Prefix: "/etc/kubernetes/", Read: true, Write: true},
	{Prefix: "/root/.ssh/", Read: true, Write: true},
	{Prefix: "/root/.aws/", Read: true, Write: true},
	{Prefix: "/root/.docker/config.json$", Read: true, Write: true},
	{Prefix: "/root/.kube/", Read: true, Write: true},
	{Name: "release_agent", Write: true},     // cgroup v1 escape, wherever cgroupfs is mounted
	{Name: "notify_on_release", Write: true}, // its companion
	{Name: "authorized_keys", Write: true},   // SSH persistence in any home
	{Name: "authorized_keys2", Write: true},
	{Name: "id_rsa", Read: true, Write: true}, // SSH private keys in any home
	{Name: "id_dsa", Read: true, Write: true},
	{Name: "id_ecdsa", Read: true, Write: true},
	{Name: "id_ed25519", Read: true, Write: true},
	{Name: "credentials", Read: true, Write: true}, // ~/.aws/credentials, gcloud
}

// watchKeyLen and watchNameLen are WATCH_KEY_LEN and WATCH_NAME_LEN in
// bpf/picket.h.
const (
	watchKeyLen  = 128
	watchNameLen = 32
)

func (w Watch) validate() error {
	if w.Name != "" {
		switch {
		case w.Prefix != "":
			return fmt.Errorf("ebpf: watch %q: both a prefix and a name (%q)", w.Prefix, w.Name)
		case strings.Contains(w.Name, "/") || w.Name == "." || w.Name == "..":
			return fmt.Errorf("ebpf: watch name %q: not a file name", w.Name)
		case len(w.Name)+1 > watchNameLen:
			return fmt.Errorf("ebpf: watch name %q: longer than %d bytes", w.Name, watchNameLen-1)
		case !w.Read && !w.Write:
			return fmt.Errorf("ebpf: watch name %q: neither read nor write", w.Name)
		}
		return nil
	}
	p := strings.TrimSuffix(w.Prefix, "$")
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("ebpf: watch %q: not an absolute path", w.Prefix)
	}
	if len(p)+1 > watchKeyLen {
		return fmt.Errorf("ebpf: watch %q: longer than %d bytes", w.Prefix, watchKeyLen-1)
	}
	if !w.Read && !w.Write {
		return fmt.Errorf("ebpf: watch %q: neither read nor write", w.Prefix)
	}
	return nil
}

// key is the prefix bytes as the kernel matches them (an exact path
// includes its NUL terminator).
func (w Watch) key() []byte {
	if p, ok := strings.CutSuffix(w.Prefix, "$"); ok {
		return append([]byte(p), 0)
	}
	return []byte(w.Prefix)
}

// matchWatches is the user-space twin of the kernel's LPM lookup, used for
// relative paths resolved in user space.
func matchWatches(ws []Watch, path string, write bool) bool {
	best, bestLen := Watch{}, -1
	p := path + "\x00"
	base := path[strings.LastIndexByte(path, '/')+1:]
	for _, w := range ws {
		if w.Name != "" {
			if w.Name == base && (w.Read || (write && w.Write)) {
				return true
			}
			continue
		}
		k := string(w.key())
		if len(k) > bestLen && strings.HasPrefix(p, k) {
			best, bestLen = w, len(k)
		}
	}
	if bestLen < 0 {
		return false
	}
	return best.Read || (write && best.Write)
}

// FullPolicy is what Run does when the output channel is full.
type FullPolicy int

const (
	// Block waits for the consumer; the kernel ring buffer absorbs the
	// burst and, once full, drops are counted per CPU (Stats.Drops).
	Block FullPolicy = iota
	// Drop discards the event and counts it in Stats.Lost.
	Drop
)

type config struct {
	log            *slog.Logger
	ringSize       int
	watches        []Watch
	relativeOpens  bool
	relativeBudget int // per second
	full           FullPolicy
	syscalls       bool
	ignoreSelf     bool
	runtimeSetup   bool
	wakeupBytes    int
	poll           time.Duration
	progStats      bool
	cacheSize      int
	now            func() time.Time
}

// Option configures the sensor.
type Option func(*config)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithRingBufferSize sets the ring buffer size in bytes (a power of two,
// multiple of the page size; default 16 MiB).
func WithRingBufferSize(n int) Option { return func(c *config) { c.ringSize = n } }

// WithWatches replaces DefaultWatches.
func WithWatches(ws []Watch) Option { return func(c *config) { c.watches = ws } }

// WithRelativeOpens sets whether opens of relative paths are resolved in
// user space (against /proc/<pid>/cwd or the dirfd) and matched against the
// watches, at most perSecond a second (the rest are counted in
// Stats.Skipped). perSecond 0 disables them (default on, 2000/s).
func WithRelativeOpens(perSecond int) Option {
	return func(c *config) { c.relativeOpens, c.relativeBudget = perSecond > 0, perSecond }
}

// WithFullPolicy sets what happens when the output channel is full.
func WithFullPolicy(p FullPolicy) Option { return func(c *config) { c.full = p } }

// WithSyscalls turns the sys_enter/sys_exit hooks on or off (default on);
// off leaves exec, fork and exit only.
func WithSyscalls(on bool) Option { return func(c *config) { c.syscalls = on } }

// WithIgnoreSelf sets whether the sensor's own process is filtered out in
// the kernel (default true).
func WithIgnoreSelf(on bool) Option { return func(c *config) { c.ignoreSelf = on } }

// WithBatching makes the kernel wake the reader only when bytes are waiting
// in the ring buffer, the reader polling every poll otherwise: one wakeup
// per batch instead of one per record, at the price of up to poll of
// latency at low rates (default: 64 KiB or a quarter of the ring buffer,
// 5 ms). bytes 0 restores a wakeup per record.
func WithBatching(bytes int, poll time.Duration) Option {
	return func(c *config) { c.wakeupBytes, c.poll = bytes, poll }
}

// ProgramStat is one BPF program's activity (WithProgramStats).
type ProgramStat struct {
	Runs    uint64        `json:"runs"`
	Runtime time.Duration `json:"runtime_ns"`
}

// WithProgramStats turns on the kernel's BPF run-time statistics
// (kernel.bpf_stats_enabled, for as long as the sensor runs) so that
// ProgramStats reports each program's runs and time. It costs two clock
// reads per program run.
func WithProgramStats(on bool) Option { return func(c *config) { c.progStats = on } }

// WithRuntimeSetup keeps the syscall events of the container runtime
// setting a container up (processes named "runc:[0:PARENT]",
// "runc:[1:CHILD]", "runc:[2:INIT]": its mounts, unshare, setuid, capset,
// /proc/sys writes), which are dropped by default and counted in
// Stats.Skipped. Exec, fork and exit are always kept.
func WithRuntimeSetup(keep bool) Option { return func(c *config) { c.runtimeSetup = keep } }

func newConfig(opts []Option) (config, error) {
	c := config{
		log:            slog.New(slog.DiscardHandler),
		ringSize:       16 << 20,
		watches:        DefaultWatches,
		relativeOpens:  true,
		relativeBudget: 2000,
		syscalls:       true,
		ignoreSelf:     true,
		cacheSize:      65536,
		wakeupBytes:    -1, // auto: min(64 KiB, ring buffer / 4)
		poll:           5 * time.Millisecond,
		now:            time.Now,
	}
	for _, o := range opts {
		o(&c)
	}
	page := unix.Getpagesize()
	if c.ringSize < page || c.ringSize&(c.ringSize-1) != 0 {
		return c, fmt.Errorf("ebpf: ring buffer size %d: not a power of two of at least %d", c.ringSize, page)
	}
	for _, w := range c.watches {
		if err := w.validate(); err != nil {
			return c, err
		}
	}
	if c.wakeupBytes == -1 {
		c.wakeupBytes = min(64<<10, c.ringSize/4)
	}
	if c.wakeupBytes < 0 || c.wakeupBytes >= c.ringSize {
		return c, fmt.Errorf("ebpf: wakeup threshold %d: not in [0, ring buffer size %d)", c.wakeupBytes, c.ringSize)
	}
	if c.wakeupBytes > 0 && c.poll <= 0 {
		return c, fmt.Errorf("ebpf: batching needs a poll interval > 0, got %s", c.poll)
	}
	return c, nil
}

// WatchesOf returns the watches that opts configure (DefaultWatches unless
// WithWatches replaces them), for other sensors watching the same paths.
func WatchesOf(opts ...Option) []Watch {
	c := config{watches: DefaultWatches}
	for _, o := range opts {
		o(&c)
	}
	return c.watches
}

// clock converts kernel monotonic nanoseconds to wall time.
type clock struct{ offset time.Duration }

func newClock() *clock {
	return &clock{offset: time.Duration(time.Now().UnixNano() - Monotonic())}
}

func (c *clock) wall(mono uint64) time.Time {
	return time.Unix(0, int64(mono)+int64(c.offset))
}

// Monotonic is CLOCK_MONOTONIC in nanoseconds, the clock of
// Event.KernelTime: now minus KernelTime is the sensor's latency.
func Monotonic() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}
