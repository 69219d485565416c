package secret_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/secret"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/testimage"
)

type sizedFile struct {
	*os.File
	size int64
}

func (f sizedFile) Size() int64 { return f.size }

// The debootstrap'ed Debian bookworm root filesystem of internal/testimage
// (minbase plus python3-requests, node-lodash, liblog4j2-java and a Go
// binary): every file the analyzer asks for, analysed; no High or Critical
// secret finding. The same tree through the pipeline (rootfs:DIR) agrees.
func TestCleanBookworm(t *testing.T) {
	img := testimage.RequireBookworm(t)
	if img.RootFS == "" {
		t.Fatal("bookworm image without a root filesystem directory")
	}
	a := secret.MustNew()
	var all []*finding.Finding
	files, analysed := 0, 0
	err := filepath.WalkDir(img.RootFS, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		files++
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(img.RootFS, p)
		ip := "/" + filepath.ToSlash(rel)
		if !a.Required(ip, info) {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		analysed++
		res, err := a.Analyze(context.Background(), &analyzer.Input{Path: ip, Info: info, Content: sizedFile{f, info.Size()}})
		if err != nil {
			t.Errorf("%s: %v", ip, err)
			return nil
		}
		if res != nil {
			all = append(all, res.Findings...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if analysed < 1000 {
		t.Errorf("only %d of %d files analysed", analysed, files)
	}
	t.Logf("bookworm: %d regular files, %d analysed", files, analysed)
	noHigh(t, "bookworm (walk)", all)
	for _, f := range all {
		if f.Kind == finding.KindScan {
			t.Logf("bookworm: %s %s: %s", f.RuleID, f.Location.Path, f.Description)
		}
	}

	rep := scanWith(t, "rootfs:"+img.RootFS, a)
	noHigh(t, "bookworm (pipeline)", rep.Findings)
}

// The busybox test image (FROM scratch + Debian's static busybox), read
// from the Docker Engine through the pipeline.
func TestCleanBusyboxImage(t *testing.T) {
	img := testimage.RequireBusybox(t)
	rep := scanWith(t, "docker-daemon:"+img.Ref, secret.MustNew())
	t.Logf("%s: %d files, %d analysed", img.Ref, rep.Stats.Files, rep.Stats.FilesAnalyzed)
	noHigh(t, img.Ref, rep.Findings)
}
