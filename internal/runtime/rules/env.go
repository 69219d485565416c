package rules

import (
	"path"
	"reflect"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/sensor/procfs"
)

// Variables are the names rule conditions may read: the json names of the
// fields of event.Event. Sub-objects are never null: a rule on exec events
// may read file.path (empty) without a has() guard.
//
// One more variable is derived from the event: proc_names, the names the
// process goes by (comm, base names of exe, of the path given to execve and
// of argv[0]; busybox applets re-executed through /proc/self/exe have the
// comm "exe" and are named by argv[0]), without empty or duplicate entries.
var Variables = []string{
	"time", "kind", "sensor", "proc", "container", "ret", "exit_code", "signal",
	"net", "file", "dup", "cred", "ptrace", "module", "mount", "ns", "integrity", "kernel_time_ns",
	"proc_names",
}

// Env returns the CEL environment of runtime rules: the event's fields as
// variables (see Variables) and the functions
//
//	basename(string) string          last element of a path
//	has_bits(uint, uint) bool        x & mask == mask (open flags, modes)
//	mining_pool(string) bool         host, ip, host:port or URL is a mining pool (Options.MiningPools)
//	malicious(string) bool           ... is a known-malicious indicator (Options.Malicious)
//	malicious_addr(string, uint) bool ip (and port) is a known-malicious indicator
//	host_pid_ns(uint) bool           the PID namespace inode is the agent's own (the
//	                                 host's: a process in a container's cgroup that is
//	                                 still in it is the runtime setting the container up)
//
// The intel sets may be nil (the functions then never match).
func Env(mining, malicious *Intel) (*cel.Env, error) {
	obj := func(name string) *cel.Type { return cel.ObjectType("event." + name) }
	return cel.NewEnv(
		ext.NativeTypes(reflect.TypeOf(&event.Event{}), ext.ParseStructTag("json")),
		ext.Strings(),
		cel.Variable("time", cel.TimestampType),
		cel.Variable("kind", cel.StringType),
		cel.Variable("sensor", cel.StringType),
		cel.Variable("proc", obj("Process")),
		cel.Variable("container", obj("Container")),
		cel.Variable("ret", cel.IntType),
		cel.Variable("exit_code", cel.IntType),
		cel.Variable("signal", cel.IntType),
		cel.Variable("net", obj("Net")),
		cel.Variable("file", obj("File")),
		cel.Variable("dup", obj("Dup")),
		cel.Variable("cred", obj("Cred")),
		cel.Variable("ptrace", obj("Ptrace")),
		cel.Variable("module", obj("Module")),
		cel.Variable("mount", obj("Mount")),
		cel.Variable("ns", obj("NS")),
		cel.Variable("integrity", obj("Integrity")),
		cel.Variable("kernel_time_ns", cel.UintType),
		cel.Variable("proc_names", cel.ListType(cel.StringType)),
		cel.Function("basename",
			cel.Overload("basename_string", []*cel.Type{cel.StringType}, cel.StringType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					s, _ := v.Value().(string)
					if s == "" {
						return types.String("")
					}
					return types.String(path.Base(s))
				}))),
		cel.Function("has_bits",
			cel.Overload("has_bits_uint_uint", []*cel.Type{cel.UintType, cel.UintType}, cel.BoolType,
				cel.BinaryBinding(func(x, m ref.Val) ref.Val {
					a, _ := x.Value().(uint64)
					b, _ := m.Value().(uint64)
					return types.Bool(a&b == b)
				}))),
		cel.Function("mining_pool",
			cel.Overload("mining_pool_string", []*cel.Type{cel.StringType}, cel.BoolType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					s, _ := v.Value().(string)
					return types.Bool(mining.Match(s))
				}))),
		cel.Function("malicious",
			cel.Overload("malicious_string", []*cel.Type{cel.StringType}, cel.BoolType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					s, _ := v.Value().(string)
					return types.Bool(malicious.Match(s))
				}))),
		cel.Function("host_pid_ns",
			cel.Overload("host_pid_ns_uint", []*cel.Type{cel.UintType}, cel.BoolType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					n, _ := v.Value().(uint64)
					own := ownPidNS()
					return types.Bool(own != 0 && n == own)
				}))),
		cel.Function("malicious_addr",
			cel.Overload("malicious_addr_string_uint", []*cel.Type{cel.StringType, cel.UintType}, cel.BoolType,
				cel.BinaryBinding(func(ip, port ref.Val) ref.Val {
					s, _ := ip.Value().(string)
					p, _ := port.Value().(uint64)
					if p > 65535 {
						return types.False
					}
					return types.Bool(malicious.MatchAddr(s, uint16(p)))
				}))),
	)
}

// ownPidNS is the inode of the agent's PID namespace (0 when unknown).
var ownPidNS = sync.OnceValue(func() uint64 { return uint64(procfs.NSInode("/proc/self/ns/pid")) })

// Zero values stand in for the event's absent parts.
var (
	zeroNet       event.Net
	zeroFile      event.File
	zeroDup       event.Dup
	zeroCred      event.Cred
	zeroPtrace    event.Ptrace
	zeroModule    event.Module
	zeroMount     event.Mount
	zeroNS        event.NS
	zeroIntegrity event.Integrity
)

// activation exposes an event to CEL without copying it.
type activation struct {
	ev    *event.Event
	names []string
}

// Activation returns the CEL activation for ev (see Variables).
func Activation(ev *event.Event) interpreter.Activation { return &activation{ev: ev} }

func (a *activation) Parent() interpreter.Activation { return nil }

func (a *activation) ResolveName(name string) (any, bool) {
	ev := a.ev
	switch name {
	case "time":
		return ev.Time, true
	case "kind":
		return string(ev.Kind), true
	case "sensor":
		return ev.Sensor, true
	case "proc":
		return &ev.Proc, true
	case "container":
		return &ev.Container, true
	case "ret":
		return ev.Ret, true
	case "exit_code":
		return int64(ev.ExitCode), true
	case "signal":
		return int64(ev.Signal), true
	case "net":
		return orZero(ev.Net, &zeroNet), true
	case "file":
		return orZero(ev.File, &zeroFile), true
	case "dup":
		return orZero(ev.Dup, &zeroDup), true
	case "cred":
		return orZero(ev.Cred, &zeroCred), true
	case "ptrace":
		return orZero(ev.Ptrace, &zeroPtrace), true
	case "module":
		return orZero(ev.Module, &zeroModule), true
	case "mount":
		return orZero(ev.Mount, &zeroMount), true
	case "ns":
		return orZero(ev.NS, &zeroNS), true
	case "integrity":
		return orZero(ev.Integrity, &zeroIntegrity), true
	case "kernel_time_ns":
		return ev.KernelTime, true
	case "proc_names":
		if a.names == nil {
			a.names = procNames(&ev.Proc)
		}
		return a.names, true
	}
	return nil, false
}

func orZero[T any](p, zero *T) *T {
	if p == nil {
		return zero
	}
	return p
}

// procNames lists the names a process goes by (see Variables).
func procNames(p *event.Process) []string {
	out := make([]string, 0, 4)
	add := func(s string) {
		if s == "" || s == "." || s == "/" {
			return
		}
		for _, x := range out {
			if x == s {
				return
			}
		}
		out = append(out, s)
	}
	add(p.Comm)
	if p.Exe != "" {
		add(path.Base(p.Exe))
	}
	if p.Filename != "" {
		add(path.Base(p.Filename))
	}
	if len(p.Args) > 0 && p.Args[0] != "" {
		add(path.Base(p.Args[0]))
	}
	return out
}
