package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in        string
		transport string
		target    string
		err       bool
	}{
		{"docker-archive:/tmp/a.tar", DockerArchive, "/tmp/a.tar", false},
		{"oci:./layout:v1", OCIDir, "./layout:v1", false},
		{"oci-archive:x.tar", OCIArchive, "x.tar", false},
		{"rootfs:/", RootFS, "/", false},
		{"registry:localhost:5000/app:1", Registry, "localhost:5000/app:1", false},
		{"docker-daemon://alpine:3.19", DockerDaemon, "alpine:3.19", false},
		{"alpine:3.19", "", "alpine:3.19", false},
		{"localhost:5000/x", "", "localhost:5000/x", false},
		{"registry:", "", "", true},
		{"", "", "", true},
	}
	for _, tt := range tests {
		r, err := ParseRef(tt.in)
		if (err != nil) != tt.err || r.Transport != tt.transport || r.Target != tt.target {
			t.Errorf("ParseRef(%q) = %+v, %v", tt.in, r, err)
		}
	}
}

func shared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s not available: %v", rel, err)
	}
	return p
}

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	rootfsTar := filepath.Join(dir, "rootfs.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.Close()
	os.WriteFile(rootfsTar, buf.Bytes(), 0o644)
	tests := map[string]string{
		shared(t, "images/alpine-3.10-docker-save.tar.gz"):         DockerArchive,
		shared(t, "images/ggcr-testdata/hello-world-v25.tar"):      OCIArchive,
		shared(t, "images/busybox-1.38-musl-oci"):                  OCIDir,
		shared(t, "images/alpine-minirootfs-3.20.3-x86_64.tar.gz"): RootFS,
		rootfsTar: RootFS,
		dir:       RootFS,
	}
	for p, want := range tests {
		got, err := Detect(p)
		if err != nil || got != want {
			t.Errorf("Detect(%s) = %q, %v; want %q", p, got, err, want)
		}
	}
	if _, err := Detect(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing path detected")
	}
}

func TestRootFSDir(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc", "os-release"), []byte("ID=test\n"), 0o644)
	os.Symlink("/etc/os-release", filepath.Join(dir, "link"))
	img, err := Open(context.Background(), "rootfs:"+dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	err = img.WalkLayers(context.Background(), WalkOptions{}, func(_ context.Context, _ LayerInfo, r io.Reader) error {
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			names = append(names, h.Name)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 3 {
		t.Errorf("entries %v", names)
	}
}

// FuzzArchive feeds arbitrary bytes to the docker save / OCI archive reader.
func FuzzArchive(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "images", "ggcr-testdata", "whiteout_image.tar")); err == nil {
		f.Add(b)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte(`[{"Config":"c.json","Layers":["l/layer.tar"]}]`)
	tw.WriteHeader(&tar.Header{Name: "manifest.json", Size: int64(len(body)), Mode: 0o644})
	tw.Write(body)
	tw.Close()
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "a.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		img, err := OpenArchive(p, DockerArchive)
		if err != nil {
			return
		}
		err = img.WalkLayers(context.Background(), WalkOptions{}, func(_ context.Context, _ LayerInfo, r io.Reader) error {
			_, err := io.Copy(io.Discard, io.LimitReader(r, 1<<20))
			return err
		})
		if err != nil {
			return
		}
		m, err := img.Metadata()
		if err != nil || m.Config == nil || len(m.Layers) != len(m.Config.RootFS.DiffIDs) {
			t.Fatalf("walk succeeded but metadata is inconsistent: %v %+v", err, m)
		}
	})
}
