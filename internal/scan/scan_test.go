package scan

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	_ "github.com/picket-cdr/picket/internal/analyzer/all"
	"github.com/picket-cdr/picket/internal/cache"
	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/inventory"
	"github.com/picket-cdr/picket/internal/layer"
	"github.com/picket-cdr/picket/internal/testimage"
)

func TestAlpineDockerSave(t *testing.T) {
	rep := scanRef(t, "docker-archive:"+shared(t, "images/alpine-3.10-docker-save.tar.gz"))
	want := map[string]string{
		"alpine-baselayout": "3.1.2-r0", "alpine-keys": "2.1-r2", "apk-tools": "2.10.4-r2",
		"busybox": "1.30.1-r3", "ca-certificates-cacert": "20190108-r0", "libc-utils": "0.7.1-r0",
		"libcrypto1.1": "1.1.1d-r2", "libssl1.1": "1.1.1d-r2", "libtls-standalone": "2.9.1-r0",
		"musl": "1.1.22-r3", "musl-utils": "1.1.22-r3", "scanelf": "1.2.3-r0",
		"ssl_client": "1.30.1-r3", "zlib": "1.2.11-r1",
	}
	got := map[string]string{}
	for _, p := range rep.Packages {
		if p.Ecosystem != inventory.Alpine {
			t.Errorf("unexpected non-apk package %s %s (%s)", p.Name, p.Version, p.Ecosystem)
			continue
		}
		got[p.Name] = p.Version
		if p.Layer != 0 || p.LayerDiffID != rep.Target.Layers[0].DiffID {
			t.Errorf("%s: layer %d %s", p.Name, p.Layer, p.LayerDiffID)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("packages:\n got %v\nwant %v", got, want)
	}
	if d := rep.Target.Distro; d.ID != "alpine" || d.VersionID != "3.10.4" {
		t.Errorf("distro = %+v", d)
	}
	for _, p := range rep.Packages {
		if p.Name == "ssl_client" {
			if want := "pkg:apk/alpine/ssl_client@1.30.1-r3?arch=x86_64&distro=alpine-3.10.4&upstream=busybox"; p.PURL != want {
				t.Errorf("purl = %s, want %s", p.PURL, want)
			}
			if p.SourceName != "busybox" {
				t.Errorf("source = %q", p.SourceName)
			}
		}
	}
	if rep.Target.ImageID != "sha256:af341ccd2df8b0e2d67cf8dd32e087bfda4e5756ebd1c76bbf3efa0dc246590e" {
		t.Errorf("image id %s", rep.Target.ImageID)
	}
	if len(rep.Target.RepoTags) != 1 || rep.Target.RepoTags[0] != "alpine:3.10" {
		t.Errorf("tags %v", rep.Target.RepoTags)
	}
}

func TestBusyboxOCILayout(t *testing.T) {
	dir := shared(t, "images/busybox-1.38-musl-oci")
	for _, ref := range []string{"oci:" + dir, dir} {
		rep := scanRef(t, ref)
		if rep.Target.Source != image.OCIDir || len(rep.Target.Layers) != 1 {
			t.Fatalf("%s: source %s layers %d", ref, rep.Target.Source, len(rep.Target.Layers))
		}
		files := seenFiles(rep)
		if _, ok := files["/bin/busybox"]; !ok {
			t.Errorf("%s: /bin/busybox not in final filesystem (%d files)", ref, len(files))
		}
		if len(rep.Packages) != 1 || rep.Packages[0].Name != "busybox" || rep.Packages[0].Version != "1.38.0" || rep.Packages[0].Path != "/bin/busybox" {
			t.Errorf("%s: packages %+v, want the busybox 1.38.0 binary", ref, rep.Packages)
		}
		if rep.Stats.Files < 400 {
			t.Errorf("%s: %d entries, want > 400", ref, rep.Stats.Files)
		}
		if rep.Target.Digest == "" || !strings.HasPrefix(rep.Target.ImageID, "sha256:") {
			t.Errorf("%s: digest %q id %q", ref, rep.Target.Digest, rep.Target.ImageID)
		}
	}
}

func TestWhiteoutImages(t *testing.T) {
	tests := []struct {
		file string
		want map[string]int // regular files in the final filesystem -> layer
	}{
		// Layer 0 writes foo.txt and bar.txt; layer 1 whites out foo.txt.
		{"whiteout_image.tar", map[string]int{"/bar.txt": 0}},
		// Layer 0 writes foo.txt; layer 1 writes bar.txt and replaces
		// foo.txt with a symlink to it.
		{"overwritten_file.tar", map[string]int{"/bar.txt": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rep := scanRef(t, "docker-archive:"+shared(t, "images/ggcr-testdata/"+tt.file))
			if got := seenFiles(rep); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("final files %v, want %v", got, tt.want)
			}
			if len(rep.Target.Layers) != 3 {
				t.Errorf("layers = %d", len(rep.Target.Layers))
			}
		})
	}
}

func TestOCIArchiveWithManifest(t *testing.T) {
	// docker 25+ save format: an OCI layout with a docker manifest.json.
	rep := scanRef(t, shared(t, "images/ggcr-testdata/hello-world-v25.tar"))
	if _, ok := seenFiles(rep)["/hello"]; !ok {
		t.Errorf("files %v", seenFiles(rep))
	}
}

func TestLayerCache(t *testing.T) {
	dir := t.TempDir()
	store, err := cache.Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ref := "oci:" + shared(t, "images/busybox-1.38-musl-oci")
	first := scanRef(t, ref, WithCache(store))
	second := scanRef(t, ref, WithCache(store))
	if first.Stats.LayersCached != 0 || second.Stats.LayersCached != 1 || !second.Target.Layers[0].Cached {
		t.Fatalf("cached layers: first %d, second %d", first.Stats.LayersCached, second.Stats.LayersCached)
	}
	if !reflect.DeepEqual(seenFiles(first), seenFiles(second)) || !reflect.DeepEqual(first.Packages, second.Packages) {
		t.Error("cached scan differs from fresh scan")
	}
	if second.Stats.FilesAnalyzed != first.Stats.FilesAnalyzed {
		t.Errorf("stats differ: %d vs %d", second.Stats.FilesAnalyzed, first.Stats.FilesAnalyzed)
	}
}

func TestHostileImages(t *testing.T) {
	apkdb := "P:musl\nV:1.2.5-r0\nA:x86_64\nF:lib\nR:ld-musl-x86_64.so.1\n\n"
	good := mkTar(t, tarFile{Name: "lib/apk/db/installed", Body: apkdb})
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write(mkTar(t, tarFile{Name: "zeros", Body: strings.Repeat("\x00", 4<<20)}))
	zw.Close()

	t.Run("layer lies about its digest", func(t *testing.T) {
		p := mkDockerSave(t, [][]byte{good}, []string{"sha256:" + strings.Repeat("ab", 32)})
		_, err := New().Scan(context.Background(), "docker-archive:"+p, image.Options{})
		if !errors.Is(err, layer.ErrDigestMismatch) {
			t.Fatalf("err = %v, want digest mismatch", err)
		}
	})
	t.Run("truncated archive", func(t *testing.T) {
		p := mkDockerSave(t, [][]byte{good}, nil)
		b, _ := os.ReadFile(p)
		os.WriteFile(p, b[:len(b)/2], 0o644)
		_, err := New().Scan(context.Background(), "docker-archive:"+p, image.Options{})
		if err == nil {
			t.Fatal("truncated archive scanned without error")
		}
	})
	t.Run("decompression bomb", func(t *testing.T) {
		p := mkDockerSave(t, [][]byte{bomb.Bytes()}, []string{digest(mkTar(t, tarFile{Name: "zeros", Body: strings.Repeat("\x00", 4<<20)}))})
		_, err := New(WithLimits(1<<20, 0)).Scan(context.Background(), "docker-archive:"+p, image.Options{})
		if !errors.Is(err, layer.ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("escaping names and symlink loops", func(t *testing.T) {
		evil := mkTar(t,
			tarFile{Name: "../../../tmp/picket-escape", Body: "pwned"},
			tarFile{Name: "/etc/abs", Body: "abs"},
			tarFile{Name: "etc/os-release", Typ: '2', Link: "os-release"},
			tarFile{Name: "lib/apk/db/installed", Body: apkdb},
			tarFile{Name: "usr/lib/os-release", Typ: '2', Link: "../../etc/os-release"},
		)
		p := mkDockerSave(t, [][]byte{evil}, nil)
		rep := scanRef(t, "docker-archive:"+p)
		if _, err := os.Stat("/tmp/picket-escape"); err == nil {
			t.Fatal("a file was written outside the root")
		}
		files := seenFiles(rep)
		if _, ok := files["/etc/abs"]; !ok || len(files) != 2 {
			t.Errorf("files %v", keys(files))
		}
		var unsafe bool
		for _, f := range rep.Findings {
			unsafe = unsafe || f.RuleID == "PKT-SCAN-UNSAFE-ENTRY"
		}
		if !unsafe {
			t.Error("unsafe entry not reported")
		}
		if len(rep.Packages) != 1 || rep.Packages[0].Name != "musl" || !rep.Target.Distro.Empty() {
			t.Errorf("packages %v distro %+v", rep.Packages, rep.Target.Distro)
		}
	})
	t.Run("corrupt package databases", func(t *testing.T) {
		corrupt := mkTar(t,
			tarFile{Name: "var/lib/dpkg/status", Body: "Package: ok\nStatus: install ok installed\nVersion: 1.0\n\n\x00\xff\xfe garbage\nPackage\n:::\n"},
			tarFile{Name: "lib/apk/db/installed", Body: "P:\nV:\n\nP:x\nV:" + strings.Repeat("9", 5000) + "\n"},
			tarFile{Name: "usr/lib/python3/dist-packages/x.dist-info/METADATA", Body: "\x00\x01binary"},
			tarFile{Name: "app/lib.jar", Body: "PK\x03\x04 not a zip"},
		)
		p := mkDockerSave(t, [][]byte{corrupt}, nil)
		rep := scanRef(t, "docker-archive:"+p)
		if rep.Stats.FilesAnalyzed < 4 {
			t.Errorf("analyzed %d files", rep.Stats.FilesAnalyzed)
		}
	})
	t.Run("not an image", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "x.tar")
		os.WriteFile(p, []byte("definitely not a tar"), 0o644)
		if _, err := New().Scan(context.Background(), "docker-archive:"+p, image.Options{}); err == nil {
			t.Fatal("garbage accepted")
		}
	})
}

func TestLayerAttribution(t *testing.T) {
	// Layer 0 installs a; layer 1 rewrites the database adding b. a belongs
	// to layer 0, b to layer 1; layer 2 removes a.
	db := func(pkgs ...string) []byte {
		var s string
		for _, p := range pkgs {
			s += "P:" + p + "\nV:1.0-r0\nA:x86_64\n\n"
		}
		return mkTar(t, tarFile{Name: "lib/apk/db/installed", Body: s})
	}
	p := mkDockerSave(t, [][]byte{db("a"), db("a", "b"), db("b", "c")}, nil)
	rep := scanRef(t, "docker-archive:"+p)
	got := map[string]int{}
	for _, pkg := range rep.Packages {
		got[pkg.Name] = pkg.Layer
	}
	if want := map[string]int{"b": 1, "c": 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("layers %v, want %v", got, want)
	}
}

func TestCompressedAndOCIArchives(t *testing.T) {
	dir := t.TempDir()
	// zstd-compressed docker save archive.
	plainPath := testimage.Gunzip(t, shared(t, "images/alpine-3.10-docker-save.tar.gz"))
	plain, err := os.ReadFile(plainPath)
	if err != nil {
		t.Fatal(err)
	}
	zst := filepath.Join(dir, "alpine.tar.zst")
	enc, _ := zstd.NewWriter(nil)
	if err := os.WriteFile(zst, enc.EncodeAll(plain, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"docker-archive:" + zst, plainPath} {
		if rep := scanRef(t, ref); len(rep.Packages) != 14 {
			t.Errorf("%s: %d packages", ref, len(rep.Packages))
		}
	}
	// An OCI archive without docker's manifest.json: a tar of the layout.
	layout := shared(t, "images/busybox-1.38-musl-oci")
	ociTar := filepath.Join(dir, "busybox-oci.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	filepath.WalkDir(layout, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(layout, p)
		tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
		return nil
	})
	tw.Close()
	os.WriteFile(ociTar, buf.Bytes(), 0o644)
	rep := scanRef(t, "oci-archive:"+ociTar)
	if _, ok := seenFiles(rep)["/bin/busybox"]; !ok || rep.Target.Digest == "" {
		t.Errorf("oci-archive: busybox missing or no digest (%q)", rep.Target.Digest)
	}
}
