package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDepthAndPath(t *testing.T) {
	for _, c := range []struct{ files, perDir, depth int }{
		{0, 1000, 1}, {1000, 1000, 1}, {1001, 1000, 2}, {1_000_000, 1000, 2}, {1_000_001, 1000, 3}, {1000, 10, 3},
	} {
		if got := depth(c.files, c.perDir); got != c.depth {
			t.Errorf("depth(%d, %d) = %d, want %d", c.files, c.perDir, got, c.depth)
		}
	}
	if got := strings.Join(filePath(123456, 2, 1000), "/"); got != "d123/f456.txt" {
		t.Errorf("filePath = %s", got)
	}
}

// TestWrite generates a small archive and checks it the way docker load
// would: manifest, config diff ids equal to the layers' sha256, file count,
// sizes and entries per directory.
func TestWrite(t *testing.T) {
	o := options{files: 2500, layers: 3, perDir: 10, minSize: 16, maxSize: 64, seed: 7,
		tag: "picket-bench/test:1", out: filepath.Join(t.TempDir(), "img.tar"), modTime: time.Unix(0, 0)}
	if err := write(o); err != nil {
		t.Fatal(err)
	}
	entries := map[string][]byte{}
	f, err := os.Open(o.out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		entries[h.Name] = b
	}
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(entries["manifest.json"], &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 1 || len(manifest[0].Layers) != 3 || manifest[0].RepoTags[0] != o.tag {
		t.Fatalf("manifest = %+v", manifest)
	}
	var config struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(entries[manifest[0].Config], &config); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(entries[manifest[0].Config])
	if manifest[0].Config != hex.EncodeToString(sum[:])+".json" {
		t.Errorf("config name %s is not its digest", manifest[0].Config)
	}
	files := 0
	perDir := map[string]int{}
	for i, name := range manifest[0].Layers {
		layer := entries[name]
		sum := sha256.Sum256(layer)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != config.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: sha256 %s, diff id %s", i, got, config.RootFS.DiffIDs[i])
		}
		seen := map[string]bool{}
		lr := tar.NewReader(bytes.NewReader(layer))
		for {
			h, err := lr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(h.Name, "/")
			if seen[name] {
				t.Errorf("layer %d: %s twice", i, name)
			}
			seen[name] = true
			if parent := path.Dir(name); parent != "." && !seen[parent] {
				t.Errorf("layer %d: %s comes before its directory", i, name)
			}
			if i == 0 || strings.HasPrefix(name, "data/") {
				perDir[fmt.Sprint(i)+":"+path.Dir(name)]++
			}
			if strings.HasPrefix(name, "data/") && h.Typeflag == tar.TypeReg {
				files++
				if h.Size < int64(o.minSize) || h.Size > int64(o.maxSize) {
					t.Errorf("%s: %d bytes", name, h.Size)
				}
			}
		}
	}
	if files != o.files {
		t.Errorf("%d files, want %d", files, o.files)
	}
	for d, n := range perDir {
		if n > o.perDir {
			t.Errorf("%s has %d entries, more than %d", d, n, o.perDir)
		}
	}
}
