package apkfiles_test

import (
	"os"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
	"github.com/picket-cdr/picket/internal/analyzer/apkfiles"
)

func get(t testing.TB) analyzer.Analyzer {
	t.Helper()
	as, _, err := analyzer.Select([]string{apkfiles.Name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return as[0]
}

func TestOwnership(t *testing.T) {
	b, err := os.ReadFile("../apk/testdata/installed")
	if err != nil {
		t.Fatal(err)
	}
	res := analyzertest.Run(t, get(t), "/lib/apk/db/installed", b)
	owners := map[string]string{}
	for _, o := range res.Owned {
		for _, p := range o.Paths {
			owners[p] = o.Owner
		}
	}
	for p, want := range map[string]string{"/bin/busybox": "apk:busybox", "/lib/ld-musl-x86_64.so.1": "apk:musl", "/sbin/apk": "apk:apk-tools"} {
		if owners[p] != want {
			t.Errorf("%s owned by %q, want %q", p, owners[p], want)
		}
	}
}

func FuzzInstalled(f *testing.F) {
	analyzertest.Fuzz(f, get(f), "/lib/apk/db/installed", []byte("P:a\nF:usr/bin\nR:x\n\nP:b\nR:y\n"))
}
