package scan

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/picket-cdr/picket/internal/image"
)

// writeManyFiles writes a one-layer docker save archive with n small files
// spread over directories of 1000, the shape of a node_modules-heavy image.
func writeManyFiles(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	layerPath := filepath.Join(dir, "layer.tar")
	f, err := os.Create(layerPath)
	if err != nil {
		b.Fatal(err)
	}
	tw := tar.NewWriter(f)
	body := []byte("module.exports = function () { return 42 }\n")
	for i := 0; i < n; i++ {
		if i%1000 == 0 {
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("app/node_modules/d%04d/", i/1000), Typeflag: tar.TypeDir, Mode: 0o755})
		}
		tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("app/node_modules/d%04d/f%07d.js", i/1000, i), Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
		tw.Write(body)
	}
	tw.Close()
	f.Close()
	layer, _ := os.ReadFile(layerPath)
	return mkDockerSave(b, [][]byte{layer}, nil)
}

// BenchmarkScanManyFiles measures the walker, the analyzers' Required
// checks and the merge on 100,000 files no analyzer wants.
func BenchmarkScanManyFiles(b *testing.B) {
	p := writeManyFiles(b, 100_000)
	s := New()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Scan(context.Background(), "docker-archive:"+p, image.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanAlpine measures a full scan of the shared alpine:3.10 archive.
func BenchmarkScanAlpine(b *testing.B) {
	p := shared(b, "images/alpine-3.10-docker-save.tar.gz")
	s := New()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Scan(context.Background(), "docker-archive:"+p, image.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
