package scan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/layer/layertest"
	"github.com/picket-cdr/picket/internal/report"
)

// shared returns a path under ../shared, skipping when it is absent.
func shared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s not available: %v", rel, err)
	}
	return p
}

// recorder is a test analyzer that wants every regular file and reports
// each one it sees as a finding, exposing the final filesystem.
type recorder struct{}

func (recorder) Name() string                      { return "test-recorder" }
func (recorder) Version() int                      { return 1 }
func (recorder) Required(string, fs.FileInfo) bool { return true }
func (recorder) Analyze(_ context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	return &analyzer.Result{Findings: []*finding.Finding{{
		Kind: finding.KindScan, RuleID: "seen", Title: in.Path, Location: finding.Location{Path: in.Path},
	}}}, nil
}

// seenFiles lists the paths the recorder reported, with their layers.
func seenFiles(rep *report.Report) map[string]int {
	out := map[string]int{}
	for _, f := range rep.Findings {
		if f.RuleID == "seen" {
			out[f.Location.Path] = *f.Location.LayerIndex
		}
	}
	return out
}

func scanRef(t *testing.T, ref string, opts ...Option) *report.Report {
	t.Helper()
	opts = append([]Option{WithAnalyzers(append(analyzer.All(), recorder{}))}, opts...)
	rep, err := New(opts...).Scan(context.Background(), ref, image.Options{})
	if err != nil {
		t.Fatalf("Scan(%s): %v", ref, err)
	}
	return rep
}

// tarFile and mkTar are short names for the shared test tar builder.
type tarFile = layertest.File

func mkTar(t testing.TB, files ...tarFile) []byte { return layertest.Tar(t, files...) }

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// mkDockerSave writes a docker save archive of the given layers. diffIDs,
// when non-nil, replaces the config's diff ids (to make it lie).
func mkDockerSave(t testing.TB, layers [][]byte, diffIDs []string) string {
	t.Helper()
	if diffIDs == nil {
		for _, l := range layers {
			diffIDs = append(diffIDs, digest(l))
		}
	}
	cfg, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	var files []tarFile
	var names []string
	for i, l := range layers {
		n := fmt.Sprintf("%064d/layer.tar", i)
		names = append(names, n)
		files = append(files, tarFile{Name: n, Body: string(l)})
	}
	cfgName := digest(cfg)[7:] + ".json"
	mf, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{"test:latest"}, "Layers": names}})
	files = append(files, tarFile{Name: cfgName, Body: string(cfg)}, tarFile{Name: "manifest.json", Body: string(mf)})
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(p, mkTar(t, files...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
