package fscheck

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/layer"
	"github.com/picket-cdr/picket/internal/layer/layertest"
)

type f = layertest.File

func fsOf(t *testing.T, files ...f) *layer.FS {
	t.Helper()
	tb, err := layer.Walk(context.Background(), bytes.NewReader(layertest.Tar(t, files...)), nil, layer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return layer.Merge([]*layer.Table{tb})
}

func run(t *testing.T, in *analyzer.ImageInput) []string {
	t.Helper()
	fs, err := check{}.AnalyzeImage(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range fs {
		out = append(out, fmt.Sprintf("%s %s %s", x.Severity, x.RuleID, x.Location.Path))
	}
	sort.Strings(out)
	return out
}

func TestChecks(t *testing.T) {
	owned := map[string]string{"/usr/bin/passwd": "deb:passwd", "/usr/bin/ls": "deb:coreutils"}
	in := &analyzer.ImageInput{
		Name: "x",
		FS: fsOf(t,
			f{Name: "usr/bin/passwd", Body: "ELF", Mode: 0o4755},
			f{Name: "usr/bin/ls", Body: "ELF", Mode: 0o755},
			f{Name: "usr/bin/evil", Body: "ELF", Mode: 0o4755},
			f{Name: "usr/bin/wall", Body: "ELF", Mode: 0o2755},
			f{Name: "tmp", Typ: tar.TypeDir, Mode: 0o1777},
			f{Name: "srv/shared", Typ: tar.TypeDir, Mode: 0o777},
			f{Name: "srv/data.txt", Body: "x", Mode: 0o666},
			f{Name: "app/.git", Typ: tar.TypeDir, Mode: 0o755},
			f{Name: "app/.env", Body: "A=1"},
			f{Name: "app/.env.example", Body: "A="},
			f{Name: "root/.ssh/id_rsa", Body: "k", Mode: 0o600},
			f{Name: "etc/ssl/private/snakeoil.key", Body: "k"},
			f{Name: "usr/local/bin/app", Body: "ELF", Mode: 0o755},
		),
		Owner:        func(p string) (string, bool) { o, ok := owned[p]; return o, ok },
		HasPackageDB: true,
	}
	want := []string{
		"HIGH PKT-FS-SETUID /usr/bin/evil",
		"HIGH PKT-FS-UNNEEDED /root/.ssh/id_rsa",
		"HIGH PKT-FS-SETUID /usr/bin/wall",
		"INFO PKT-FS-SETUID /usr/bin/passwd",
		"MEDIUM PKT-FS-UNNEEDED /app/.env",
		"MEDIUM PKT-FS-UNNEEDED /app/.git",
		"MEDIUM PKT-FS-UNOWNED-EXECUTABLE /usr/bin/evil",
		"MEDIUM PKT-FS-UNOWNED-EXECUTABLE /usr/bin/wall",
		"MEDIUM PKT-FS-WORLD-WRITABLE /srv/data.txt",
		"MEDIUM PKT-FS-WORLD-WRITABLE /srv/shared",
	}
	sort.Strings(want)
	if got := run(t, in); !reflect.DeepEqual(got, want) {
		t.Errorf("got:\n%v\nwant:\n%v", got, want)
	}
	// Without a package database nothing can be "not owned".
	in.HasPackageDB, in.Owner = false, nil
	for _, g := range run(t, in) {
		if g == "HIGH PKT-FS-SETUID /usr/bin/evil" || g == "MEDIUM PKT-FS-UNOWNED-EXECUTABLE /usr/bin/evil" {
			t.Errorf("without a package database: %s", g)
		}
	}
}

func TestLimits(t *testing.T) {
	var files []f
	for i := 0; i < 60; i++ {
		files = append(files, f{Name: fmt.Sprintf("w/%d", i), Body: "0123456789", Mode: 0o666})
	}
	in := &analyzer.ImageInput{Name: "x", FS: fsOf(t, files...), Limits: analyzer.Limits{MaxImageBytes: 100, MaxFiles: 50}}
	got := run(t, in)
	count := map[string]int{}
	for _, g := range got {
		count[g]++
	}
	if count["MEDIUM PKT-FS-IMAGE-SIZE "] != 1 || count["MEDIUM PKT-FS-FILE-COUNT "] != 1 || count["INFO PKT-FS-WORLD-WRITABLE "] != 1 {
		t.Errorf("limits and capping: %v", count)
	}
	n := 0
	for _, g := range got {
		if len(g) > 30 && g[:28] == "MEDIUM PKT-FS-WORLD-WRITABLE" {
			n++
		}
	}
	if n != maxPerRule {
		t.Errorf("%d world-writable findings listed, want %d", n, maxPerRule)
	}
}
