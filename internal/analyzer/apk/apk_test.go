package apk_test

import (
	"os"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
	"github.com/picket-cdr/picket/internal/analyzer/apk"
)

func get(t testing.TB) analyzer.Analyzer {
	t.Helper()
	as, _, err := analyzer.Select([]string{apk.Name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return as[0]
}

// testdata/installed is the database of Alpine's 3.10.9 minirootfs.
func TestInstalled(t *testing.T) {
	b, err := os.ReadFile("testdata/installed")
	if err != nil {
		t.Fatal(err)
	}
	res := analyzertest.Run(t, get(t), "/lib/apk/db/installed", b)
	if len(res.Packages) != 14 {
		t.Fatalf("got %d packages, want 14", len(res.Packages))
	}
	bySource := map[string]string{}
	for _, p := range res.Packages {
		bySource[p.Name] = p.SourceName
	}
	for name, src := range map[string]string{"ssl_client": "busybox", "libcrypto1.1": "openssl", "musl-utils": "musl", "zlib": "zlib"} {
		if bySource[name] != src {
			t.Errorf("%s: origin %q, want %q", name, bySource[name], src)
		}
	}
}

func FuzzInstalled(f *testing.F) {
	b, _ := os.ReadFile("testdata/installed")
	analyzertest.Fuzz(f, get(f), "/lib/apk/db/installed", b, []byte("P:x\nV:1\n\n"))
}
