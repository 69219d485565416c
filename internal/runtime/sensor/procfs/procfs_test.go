//go:build linux

package procfs

import (
	"errors"
	"io/fs"
	"os"
	"reflect"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Stat
		err  bool
	}{
		{name: "plain", in: "42 (sleep) S 1 42 42 34816 42 4194304 97 0 0 0 0 0 0 0 20 0 1 0 12345 2363392 130 18446744073709551615",
			want: Stat{PID: 42, Comm: "sleep", State: 'S', PPID: 1, TTYNr: 34816, StartTicks: 12345}},
		{name: "comm with spaces and parens", in: "7 (a b) (c)) R 3 0 0 0 0 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0",
			want: Stat{PID: 7, Comm: "a b) (c)", State: 'R', PPID: 3, StartTicks: 99}},
		{name: "no comm", in: "7 sleep S 1", err: true},
		{name: "short", in: "7 (x) S 1 2 3", err: true},
		{name: "bad pid", in: "x (x) S 1 0 0 0 0 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0", err: true},
		{name: "bad state", in: "7 (x) SS 1 0 0 0 0 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0", err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseStat([]byte(tc.in))
			if tc.err {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseStatusIDs(t *testing.T) {
	in := "Name:\tsh\nUid:\t1000\t0\t0\t0\nGid:\t100\t5\t5\t5\nGroups:\t\n"
	got, err := ParseStatusIDs([]byte(in))
	if err != nil || got != (IDs{UID: 1000, EUID: 0, GID: 100, EGID: 5}) {
		t.Fatalf("%+v %v", got, err)
	}
	for _, bad := range []string{"Name:\tx\n", "Uid:\t1\nGid:\tx\t1\n", "Uid:\t1\n"} {
		if _, err := ParseStatusIDs([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func TestCgroupV2Path(t *testing.T) {
	in := "9:name=systemd:/docker/abc\n0::/docker/abc\n"
	if p, ok := CgroupV2Path([]byte(in)); !ok || p != "/docker/abc" {
		t.Fatalf("%q %v", p, ok)
	}
	if _, ok := CgroupV2Path([]byte("1:cpu:/\n")); ok {
		t.Fatal("v1 only: found a v2 path")
	}
}

func TestCgroup2FromMountinfo(t *testing.T) {
	in := "25 21 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro\n" +
		"35 25 0:30 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw\n"
	if m, ok := cgroup2FromMountinfo([]byte(in)); !ok || m != "/sys/fs/cgroup/unified" {
		t.Fatalf("%q %v", m, ok)
	}
	if _, ok := cgroup2FromMountinfo([]byte("25 21 0:22 / /x rw - tmpfs tmpfs rw\n")); ok {
		t.Fatal("found cgroup2 in a tmpfs-only mountinfo")
	}
}

func TestSplitArgs(t *testing.T) {
	if got := SplitArgs([]byte("a\x00b c\x00\x00"), 10); !reflect.DeepEqual(got, []string{"a", "b c"}) {
		t.Errorf("%q", got)
	}
	if got := SplitArgs([]byte("a\x00b\x00c"), 2); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("bounded: %q", got)
	}
	if got := SplitArgs(nil, 2); got != nil {
		t.Errorf("empty: %q", got)
	}
}

// TestProcessSelf reads this test process from the real /proc.
func TestProcessSelf(t *testing.T) {
	p, err := Default.Process(uint32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	wd, _ := os.Getwd()
	if p.PPID != uint32(os.Getppid()) || p.Exe != exe || p.Cwd != wd || p.UID != uint32(os.Getuid()) ||
		len(p.Args) == 0 || p.MntNS == 0 || p.PidNS == 0 || p.Start.IsZero() {
		t.Fatalf("%+v", p)
	}
	if _, err := Default.Process(0x7ffffff0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing pid: %v", err)
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("42 (sleep) S 1 42 42 34816 42 4194304 97 0 0 0 0 0 0 0 20 0 1 0 12345 2363392"))
	f.Add([]byte("1 ()) x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStat(b)
		if err == nil && s.State == 0 {
			t.Fatalf("accepted without a state: %+v", s)
		}
	})
}
