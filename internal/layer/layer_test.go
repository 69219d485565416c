package layer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/picket-cdr/picket/internal/layer/layertest"
)

// tf and mkTar are short names for the shared test tar builder.
type tf = layertest.File

func mkTar(t testing.TB, files ...tf) []byte { return layertest.Tar(t, files...) }

func walk(t testing.TB, data []byte) *Table {
	t.Helper()
	tb, err := Walk(context.Background(), bytes.NewReader(data), nil, Options{})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return tb
}

func paths(f *FS) []string {
	var out []string
	f.Walk(func(e *Entry, layer int) bool {
		out = append(out, e.Path)
		return true
	})
	return out
}

func TestCleanName(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"etc/passwd", "/etc/passwd", true},
		{"./etc/passwd", "/etc/passwd", true},
		{"/etc/passwd", "/etc/passwd", true},
		{"etc//x/./y", "/etc/x/y", true},
		{"../etc/passwd", "", false},
		{"etc/../../x", "", false},
		{"a/..", "", false},
		{"", "", false},
		{"a\x00b", "", false},
		{"./", "/", true},
	}
	for _, tt := range tests {
		got, ok := CleanName(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CleanName(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWalkEntriesAndDigest(t *testing.T) {
	data := mkTar(t,
		tf{Name: "etc/", Typ: tar.TypeDir, Mode: 0o755},
		tf{Name: "etc/passwd", Body: "root:x:0:0::/root:/bin/sh\n"},
		tf{Name: "bin/su", Body: "ELF", Mode: 0o4755},
		tf{Name: "bin/sh", Typ: tar.TypeSymlink, Link: "busybox"},
		tf{Name: "bin/ash", Typ: tar.TypeLink, Link: "bin/su"},
	)
	var visited []string
	tb, err := Walk(context.Background(), bytes.NewReader(data), func(_ context.Context, e *Entry, r io.Reader) error {
		visited = append(visited, e.Path)
		if e.Path == "/etc/passwd" {
			b, _ := io.ReadAll(r)
			if !strings.HasPrefix(string(b), "root:") {
				t.Errorf("content = %q", b)
			}
		}
		return nil
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if want := "sha256:" + hex.EncodeToString(sum[:]); tb.DiffID != want {
		t.Errorf("DiffID = %s, want %s", tb.DiffID, want)
	}
	if got := strings.Join(visited, ","); got != "/etc/passwd,/bin/su,/bin/ash" {
		t.Errorf("visited %s", got)
	}
	if len(tb.Entries) != 5 {
		t.Fatalf("entries = %d", len(tb.Entries))
	}
	su := tb.Entries[2]
	if su.Mode&0o4000 == 0 && su.FileMode()&(1<<23) == 0 && su.Mode.String()[0] != 'u' {
		t.Errorf("setuid lost: %v", su.Mode)
	}
	ash := tb.Entries[4]
	if ash.Type != TypeHardlink || ash.Link != "/bin/su" || ash.Size != 3 {
		t.Errorf("hardlink = %+v", ash)
	}
}

func TestWalkCompressed(t *testing.T) {
	data := mkTar(t, tf{Name: "a", Body: "hello"})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	var zs bytes.Buffer
	enc, _ := zstd.NewWriter(&zs)
	enc.Write(data)
	enc.Close()
	plain := walk(t, data)
	for name, b := range map[string][]byte{"gzip": gz.Bytes(), "zstd": zs.Bytes()} {
		tb := walk(t, b)
		if tb.DiffID != plain.DiffID || len(tb.Entries) != 1 {
			t.Errorf("%s: diffID %s entries %d; want %s 1", name, tb.DiffID, len(tb.Entries), plain.DiffID)
		}
	}
}

func TestWalkHostile(t *testing.T) {
	big := mkTar(t, tf{Name: "zeros", Body: strings.Repeat("\x00", 1<<20)})
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write(big)
	zw.Close()
	good := mkTar(t, tf{Name: "a", Body: "x"})
	long := mkTar(t, tf{Name: "a", Body: strings.Repeat("y", 4000)})
	tests := []struct {
		name    string
		data    []byte
		opts    Options
		wantErr error
		unsafe  int
	}{
		{"dotdot names are skipped", mkTar(t, tf{Name: "../../etc/passwd", Body: "x"}, tf{Name: "ok", Body: "y"}), Options{}, nil, 1},
		{"dotdot hardlink target is skipped", mkTar(t, tf{Name: "l", Typ: tar.TypeLink, Link: "../../etc/shadow"}), Options{}, nil, 1},
		{"absolute names are cleaned into the root", mkTar(t, tf{Name: "/abs/file", Body: "x"}), Options{}, nil, 0},
		{"gzip bomb hits the size limit", bomb.Bytes(), Options{MaxBytes: 64 << 10}, ErrTooLarge, 0},
		{"entry count limit", mkTar(t, tf{Name: "a", Body: "1"}, tf{Name: "b", Body: "2"}), Options{MaxEntries: 1}, ErrTooManyEntries, 0},
		{"truncated tar", long[:2000], Options{}, ErrCorrupt, 0},
		{"digest mismatch", good, Options{DiffID: "sha256:" + strings.Repeat("0", 64)}, ErrDigestMismatch, 0},
		{"not a tar", []byte(strings.Repeat("garbage!", 200)), Options{}, ErrCorrupt, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := Walk(context.Background(), bytes.NewReader(tt.data), func(_ context.Context, e *Entry, r io.Reader) error {
				if r != nil {
					_, err := io.Copy(io.Discard, r)
					return err
				}
				return nil
			}, tt.opts)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tb.Unsafe != tt.unsafe {
				t.Errorf("unsafe = %d, want %d", tb.Unsafe, tt.unsafe)
			}
			for _, e := range tb.Entries {
				if !strings.HasPrefix(e.Path, "/") || strings.Contains(e.Path, "..") {
					t.Errorf("escaping path %q", e.Path)
				}
			}
		})
	}
}

func TestMergeWhiteouts(t *testing.T) {
	base := walk(t, mkTar(t,
		tf{Name: "etc/", Typ: tar.TypeDir},
		tf{Name: "etc/keep", Body: "1"},
		tf{Name: "etc/gone", Body: "1"},
		tf{Name: "var/", Typ: tar.TypeDir},
		tf{Name: "var/cache/", Typ: tar.TypeDir},
		tf{Name: "var/cache/a", Body: "1"},
		tf{Name: "var/cache/b", Body: "1"},
		tf{Name: "opt/", Typ: tar.TypeDir},
		tf{Name: "opt/app/", Typ: tar.TypeDir},
		tf{Name: "opt/app/bin", Body: "1"},
		tf{Name: "data/", Typ: tar.TypeDir},
		tf{Name: "data/x", Body: "1"},
		tf{Name: "over", Body: "old"},
	))
	top := walk(t, mkTar(t,
		tf{Name: "etc/.wh.gone", Body: ""},
		tf{Name: "var/cache/.wh..wh..opq", Body: ""},
		tf{Name: "var/cache/c", Body: "2"},
		tf{Name: ".wh.opt", Body: ""},
		tf{Name: "data", Body: "now a file"},
		tf{Name: "over", Body: "new"},
	))
	f := Merge([]*Table{base, top})
	got := strings.Join(paths(f), " ")
	want := "/data /etc /etc/keep /over /var /var/cache /var/cache/c"
	if got != want {
		t.Errorf("final fs:\n got %s\nwant %s", got, want)
	}
	if _, l, _ := f.Lookup("/over"); l != 1 {
		t.Errorf("/over from layer %d, want 1", l)
	}
	if _, l, _ := f.Lookup("/etc/keep"); l != 0 {
		t.Errorf("/etc/keep from layer %d, want 0", l)
	}
	if f.Visible("/over", 0) || !f.Visible("/over", 1) {
		t.Error("Visible wrong for overwritten file")
	}
}

func TestMergeWhiteoutThenRecreate(t *testing.T) {
	base := walk(t, mkTar(t, tf{Name: "d/", Typ: tar.TypeDir}, tf{Name: "d/old", Body: "1"}))
	top := walk(t, mkTar(t, tf{Name: ".wh.d", Body: ""}, tf{Name: "d/", Typ: tar.TypeDir}, tf{Name: "d/new", Body: "2"}))
	got := strings.Join(paths(Merge([]*Table{base, top})), " ")
	if got != "/d /d/new" {
		t.Errorf("got %s", got)
	}
}

func TestResolve(t *testing.T) {
	tb := walk(t, mkTar(t,
		tf{Name: "usr/", Typ: tar.TypeDir},
		tf{Name: "usr/lib/", Typ: tar.TypeDir},
		tf{Name: "usr/lib/os-release", Body: "ID=debian"},
		tf{Name: "lib", Typ: tar.TypeSymlink, Link: "usr/lib"},
		tf{Name: "etc/", Typ: tar.TypeDir},
		tf{Name: "etc/os-release", Typ: tar.TypeSymlink, Link: "../usr/lib/os-release"},
		tf{Name: "etc/escape", Typ: tar.TypeSymlink, Link: "../../../../../usr/lib/os-release"},
		tf{Name: "etc/abs", Typ: tar.TypeSymlink, Link: "/lib/os-release"},
		tf{Name: "loop1", Typ: tar.TypeSymlink, Link: "loop2"},
		tf{Name: "loop2", Typ: tar.TypeSymlink, Link: "loop1"},
	))
	f := Merge([]*Table{tb})
	tests := []struct {
		in, want string
		err      error
	}{
		{"/etc/os-release", "/usr/lib/os-release", nil},
		{"/lib/os-release", "/usr/lib/os-release", nil},
		{"/etc/escape", "/usr/lib/os-release", nil},
		{"/etc/abs", "/usr/lib/os-release", nil},
		{"/lib/missing", "/usr/lib/missing", nil},
		{"/loop1", "", ErrSymlinkLoop},
		{"/loop1/x", "", ErrSymlinkLoop},
	}
	for _, tt := range tests {
		got, err := f.Resolve(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("Resolve(%s) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	if e, _, err := f.Stat("/etc/os-release"); err != nil || e.Type != TypeReg {
		t.Errorf("Stat = %v, %v", e, err)
	}
}

func TestFSOrder(t *testing.T) {
	tb := walk(t, mkTar(t, tf{Name: "b", Body: "1"}, tf{Name: "a", Body: "1"}, tf{Name: "c", Body: "1"}))
	got := paths(Merge([]*Table{tb}))
	if !sort.StringsAreSorted(got) || len(got) != 3 {
		t.Errorf("Walk order %v", got)
	}
}
