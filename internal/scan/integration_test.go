package scan

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/picket-cdr/picket/internal/cache"
	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/inventory"
	"github.com/picket-cdr/picket/internal/report"
	"github.com/picket-cdr/picket/internal/testimage"
)

// TestBookwormImage scans an image built on this machine's Docker Engine
// from a debootstrap bookworm root filesystem plus python3-requests,
// node-lodash, liblog4j2-java and a Go binary, through three sources, and
// checks the inventory against dpkg's own view of the same root.
func TestBookwormImage(t *testing.T) {
	img := testimage.RequireBookworm(t)
	want, err := img.DpkgList()
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 100 {
		t.Fatalf("dpkg-query lists only %d packages", len(want))
	}
	refs := []string{"docker-daemon:" + img.Ref, "rootfs:" + img.RootFS}
	if p, err := img.SaveArchive(context.Background(), t.TempDir()); err == nil {
		refs = append(refs, "docker-archive:"+p)
	} else {
		t.Errorf("docker save: %v", err)
	}
	for _, ref := range refs {
		name, _, _ := strings.Cut(ref, ":")
		t.Run(name, func(t *testing.T) {
			rep, err := New().Scan(context.Background(), ref, image.Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkBookworm(t, rep, want)
		})
	}
}

func checkBookworm(t *testing.T, rep *report.Report, want []testimage.DpkgPackage) {
	t.Helper()
	if d := rep.Target.Distro; d.ID != "debian" || d.VersionID != "12" || d.Codename != "bookworm" {
		t.Errorf("distro %+v", d)
	}
	debs := map[string]*inventory.Package{}
	byName := map[string][]*inventory.Package{}
	for _, p := range rep.Packages {
		if p.Ecosystem == inventory.Debian {
			debs[p.Name] = p
		} else {
			byName[string(p.Ecosystem)+"/"+p.Name] = append(byName[string(p.Ecosystem)+"/"+p.Name], p)
		}
	}
	for _, w := range want {
		got, ok := debs[w.Name]
		if !ok {
			t.Errorf("dpkg package %s %s not found", w.Name, w.Version)
			continue
		}
		if got.Version != w.Version || got.SourceName != w.Source || got.Arch != w.Arch {
			t.Errorf("%s: got %s src %s arch %s; dpkg says %s src %s arch %s", w.Name, got.Version, got.SourceName, got.Arch, w.Version, w.Source, w.Arch)
		}
	}
	if len(debs) != len(want) {
		t.Errorf("found %d Debian packages, dpkg lists %d", len(debs), len(want))
	}
	lang := []struct {
		key, version, owner, path string
	}{
		{"PyPI/requests", "2.28.1", "deb:python3-requests", "/usr/lib/python3/dist-packages/requests-2.28.1.egg-info/PKG-INFO"},
		{"PyPI/urllib3", "", "deb:python3-urllib3", ""},
		{"npm/lodash", "4.17.21", "deb:node-lodash", "/usr/share/nodejs/lodash/package.json"},
		{"Maven/org.apache.logging.log4j:log4j-core", "2.19.0", "deb:liblog4j2-java", "/usr/share/java/log4j-core.jar"},
		{"Maven/org.apache.logging.log4j:log4j-api", "2.19.0", "deb:liblog4j2-java", ""},
		{"Go/golang.org/x/sync", "", "", testimage.GoBinaryPath},
		{"Go/stdlib", "", "", testimage.GoBinaryPath},
	}
	for _, l := range lang {
		ps := byName[l.key]
		if len(ps) == 0 {
			t.Errorf("%s not found", l.key)
			continue
		}
		p := ps[0]
		if l.version != "" && p.Version != l.version || l.path != "" && p.Path != l.path || p.OwnedBy != l.owner {
			t.Errorf("%s: version %s path %s owner %q; want %s %s %q", l.key, p.Version, p.Path, p.OwnedBy, l.version, l.path, l.owner)
		}
		if p.PURL == "" {
			t.Errorf("%s: no purl", l.key)
		}
	}
}

// TestDaemonRescanFromCache checks that an image whose config and layers
// are cached is not read from the Engine again, and gives the same result.
func TestDaemonRescanFromCache(t *testing.T) {
	img := testimage.RequireBusybox(t)
	store, err := cache.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ref := "docker-daemon:" + img.Ref
	first := scanRef(t, ref, WithCache(store))
	second := scanRef(t, ref, WithCache(store))
	if first.Stats.LayersCached != 0 || second.Stats.LayersCached != len(second.Target.Layers) {
		t.Fatalf("cached layers: first %d, second %d of %d", first.Stats.LayersCached, second.Stats.LayersCached, len(second.Target.Layers))
	}
	if !reflect.DeepEqual(seenFiles(first), seenFiles(second)) || first.Target.ImageID != second.Target.ImageID {
		t.Error("rescan from cache differs")
	}
	if _, ok := seenFiles(second)["/bin/busybox"]; !ok {
		t.Errorf("files %v", keys(seenFiles(second)))
	}
}
