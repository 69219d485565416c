// Package event is the runtime agent's event model: what the sensors (eBPF,
// proc connector, fanotify) produce, what attribution fills in and what the
// rules read. Sensors fill Proc and the kind-specific part; attribution fills
// Container; rules see the whole Event (CEL field names are the json tags).
package event

import (
	"context"
	"sync/atomic"
	"time"
)

// Kind names what happened.
type Kind string

// Event kinds produced by the sensors.
const (
	Exec       Kind = "exec"           // execve/execveat completed (Proc is the new image)
	Exit       Kind = "exit"           // process (thread group) exited
	Fork       Kind = "fork"           // new process (Proc is the child, Proc.PPID the parent)
	Connect    Kind = "connect"        // outbound connect (Net)
	Accept     Kind = "accept"         // inbound accepted connection (Net)
	Bind       Kind = "bind"           // bind (Net)
	DupFD      Kind = "dup"            // dup2/dup3 of a socket onto fd 0-2 (Dup)
	Open       Kind = "open"           // open/openat of a watched path (File)
	Chmod      Kind = "chmod"          // chmod/fchmodat adding execute (File)
	SetUID     Kind = "setuid"         // setuid/setreuid/setresuid (Cred)
	SetGID     Kind = "setgid"         // setgid/setregid/setresgid (Cred)
	Capset     Kind = "capset"         // capset (Cred)
	PtraceOp   Kind = "ptrace"         // ptrace attach/seize/poke (Ptrace)
	Memfd      Kind = "memfd"          // memfd_create (File.Path is the memfd name)
	ModuleLoad Kind = "module"         // init_module/finit_module (Module)
	MountOp    Kind = "mount"          // mount (Mount)
	Unshare    Kind = "unshare"        // unshare (NS)
	Setns      Kind = "setns"          // setns (NS)
	FileHash   Kind = "file_integrity" // a watched binary or directory changed (File, Integrity)
)

// Process is the acting process.
type Process struct {
	PID  uint32 `json:"pid"`
	TID  uint32 `json:"tid,omitempty"`
	PPID uint32 `json:"ppid"`
	UID  uint32 `json:"uid"`
	GID  uint32 `json:"gid"`
	EUID uint32 `json:"euid"`
	EGID uint32 `json:"egid"`
	Comm string `json:"comm"` // task comm (15 bytes max)
	Exe  string `json:"exe"`  // path of the executable
	// Filename is the path given to execve (before symlinks are resolved:
	// /bin/sh where Exe is /bin/busybox; /dev/fd/3 for fexecve).
	Filename string `json:"filename,omitempty"`
	// ExeDeleted: the executable has no link on any filesystem (a memfd,
	// or deleted after start): fileless execution.
	ExeDeleted bool      `json:"exe_deleted,omitempty"`
	Args       []string  `json:"args,omitempty"` // argv (bounded)
	Cwd        string    `json:"cwd,omitempty"`  // working directory
	TTY        bool      `json:"tty"`            // has a controlling terminal
	ParentComm string    `json:"parent_comm,omitempty"`
	ParentExe  string    `json:"parent_exe,omitempty"`
	CgroupID   uint64    `json:"cgroup_id,omitempty"`
	MntNS      uint32    `json:"mnt_ns,omitempty"`
	PidNS      uint32    `json:"pid_ns,omitempty"`
	UpperLayer bool      `json:"upper_layer"` // exe lives in the container's writable layer (not from the image)
	Start      time.Time `json:"start,omitempty"`
}

// Container is the container (or host) the process belongs to.
type Container struct {
	Host       bool              `json:"host"` // a host process, not in a container
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Image      string            `json:"image,omitempty"`
	ImageID    string            `json:"image_id,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	Privileged bool              `json:"privileged"`
	Mounts     []Mount           `json:"mounts,omitempty"`
}

// Mount is a container mount (Container.Mounts) or a mount syscall (Event.Mount).
type Mount struct {
	Source string `json:"source"`
	Target string `json:"target"`
	FSType string `json:"fstype,omitempty"`
	Flags  uint64 `json:"flags,omitempty"`
	RW     bool   `json:"rw,omitempty"`
}

// Net is a socket address pair.
type Net struct {
	Family  string `json:"family"` // "ipv4", "ipv6", "unix"
	Proto   string `json:"proto"`  // "tcp", "udp"
	SrcIP   string `json:"src_ip,omitempty"`
	SrcPort uint16 `json:"src_port,omitempty"`
	DstIP   string `json:"dst_ip,omitempty"`
	DstPort uint16 `json:"dst_port,omitempty"`
	Path    string `json:"path,omitempty"` // unix socket path
}

// File is a file operation.
type File struct {
	Path  string `json:"path"`
	Flags uint32 `json:"flags,omitempty"` // open flags
	Mode  uint32 `json:"mode,omitempty"`  // chmod mode / create mode
	Write bool   `json:"write"`           // opened for writing (or created/truncated)
}

// Dup is dup2/dup3 of OldFD onto NewFD; Socket says OldFD is a socket.
type Dup struct {
	OldFD  int32 `json:"old_fd"`
	NewFD  int32 `json:"new_fd"`
	Socket bool  `json:"socket"`
}

// Cred is a credential change.
type Cred struct {
	UID uint32 `json:"uid"`
	GID uint32 `json:"gid"`
	// Effective capability set after capset (bit mask), 0 otherwise.
	CapEffective uint64 `json:"cap_effective,omitempty"`
}

// Ptrace is a ptrace request against TargetPID.
type Ptrace struct {
	Request   int64  `json:"request"`
	TargetPID uint32 `json:"target_pid"`
}

// Module is a kernel module load.
type Module struct {
	Name string `json:"name,omitempty"`
	FD   int32  `json:"fd,omitempty"` // finit_module
}

// NS is unshare/setns.
type NS struct {
	Flags uint64 `json:"flags"` // CLONE_NEW* flags
	FD    int32  `json:"fd,omitempty"`
}

// Integrity is a file-integrity change.
type Integrity struct {
	OldSHA256 string `json:"old_sha256,omitempty"`
	NewSHA256 string `json:"new_sha256,omitempty"`
	Change    string `json:"change"` // "modified", "deleted", "created", "mode", "owner"
}

// Event is one observation.
type Event struct {
	Time      time.Time  `json:"time"`
	Kind      Kind       `json:"kind"`
	Sensor    string     `json:"sensor"` // "ebpf", "proc_connector", "procfs", "fanotify", "inotify"
	Proc      Process    `json:"proc"`
	Container Container  `json:"container"`
	Ret       int64      `json:"ret"` // syscall return value (0 when not applicable)
	ExitCode  int32      `json:"exit_code,omitempty"`
	Signal    int32      `json:"signal,omitempty"`
	Net       *Net       `json:"net,omitempty"`
	File      *File      `json:"file,omitempty"`
	Dup       *Dup       `json:"dup,omitempty"`
	Cred      *Cred      `json:"cred,omitempty"`
	Ptrace    *Ptrace    `json:"ptrace,omitempty"`
	Module    *Module    `json:"module,omitempty"`
	Mount     *Mount     `json:"mount,omitempty"`
	NS        *NS        `json:"ns,omitempty"`
	Integrity *Integrity `json:"integrity,omitempty"`
	// KernelTime is the monotonic kernel timestamp (ns) when the sensor saw
	// it; the agent measures detection latency from it.
	KernelTime uint64 `json:"kernel_time_ns,omitempty"`
}

// Source produces events until ctx ends. Each sensor implements it.
type Source interface {
	// Name is the sensor's name ("ebpf", "proc_connector", ...).
	Name() string
	// Run sends events to out until ctx is done or a fatal error occurs.
	Run(ctx context.Context, out chan<- *Event) error
	// Stats reports counters (events per kind, drops per CPU, ...).
	Stats() Stats
}

// Stats are a sensor's counters.
type Stats struct {
	Events map[Kind]uint64 `json:"events"`
	// Drops counts events lost in the kernel (ring buffer full), per CPU.
	Drops []uint64 `json:"drops"`
	// Lost counts events lost in user space (channel full, decode errors).
	Lost uint64 `json:"lost"`
	// Skipped counts events a sensor's user-space filter or budget chose not
	// to forward (container runtime set-up, relative-path opens beyond
	// their rate limit). They are not losses of matching events.
	Skipped uint64 `json:"skipped,omitempty"`
}

// Deliver hands ev to out the way every sensor does. With drop set it never
// blocks: when out is full the event is counted in lost and dropped, so a
// slow consumer costs events, counted, instead of stalling the kernel side.
// Otherwise it waits for room; it returns false only when ctx ends first.
func Deliver(ctx context.Context, out chan<- *Event, ev *Event, drop bool, lost *atomic.Uint64) bool {
	if drop {
		select {
		case out <- ev:
		default:
			lost.Add(1)
		}
		return true
	}
	select {
	case out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}
