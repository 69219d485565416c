package dpkg_test

import (
	"os"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
	"github.com/picket-cdr/picket/internal/analyzer/dpkg"
)

func get(t testing.TB) analyzer.Analyzer {
	t.Helper()
	as, _, err := analyzer.Select([]string{dpkg.Name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return as[0]
}

func TestStatus(t *testing.T) {
	b, err := os.ReadFile("testdata/status")
	if err != nil {
		t.Fatal(err)
	}
	res := analyzertest.Run(t, get(t), "/var/lib/dpkg/status", b)
	type row struct{ version, source, sourceVersion string }
	want := map[string]row{
		"bash":             {"5.2.15-2+b8", "bash", "5.2.15-2"},
		"coreutils":        {"9.1-1", "coreutils", "9.1-1"},
		"libc6":            {"2.36-9+deb12u14", "glibc", "2.36-9+deb12u14"},
		"libssl3":          {"3.0.19-1~deb12u2", "openssl", "3.0.19-1~deb12u2"},
		"python3-requests": {"2.28.1+dfsg-1", "requests", "2.28.1+dfsg-1"},
		"zlib1g":           {"1:1.2.13.dfsg-1", "zlib", "1:1.2.13.dfsg-1"},
	}
	if len(res.Packages) != len(want) {
		t.Fatalf("got %d packages, want %d", len(res.Packages), len(want))
	}
	for _, p := range res.Packages {
		w, ok := want[p.Name]
		if !ok {
			t.Errorf("unexpected %s", p.Name)
			continue
		}
		if got := (row{p.Version, p.SourceName, p.SourceVersion}); got != w {
			t.Errorf("%s: got %+v, want %+v", p.Name, got, w)
		}
		if p.Arch != "amd64" && p.Arch != "all" {
			t.Errorf("%s: arch %q", p.Name, p.Arch)
		}
	}
}

func TestRequired(t *testing.T) {
	a := get(t)
	for p, want := range map[string]bool{
		"/var/lib/dpkg/status":         true,
		"/var/lib/dpkg/status.d/base":  true, // distroless
		"/var/lib/dpkg/status-old":     false,
		"/usr/share/doc/dpkg/status":   false,
		"/var/lib/dpkg/info/bash.list": false,
	} {
		if got := a.Required(p, analyzertest.Info{Path: p, Length: 10}); got != want {
			t.Errorf("Required(%s) = %v", p, got)
		}
	}
}

func FuzzStatus(f *testing.F) {
	b, _ := os.ReadFile("testdata/status")
	analyzertest.Fuzz(f, get(f), "/var/lib/dpkg/status", b, []byte("Package: x\nStatus: install ok installed\nVersion: 1\n\n"))
}
