package image_test

// Integration tests of the registry: transport against a real registry
// process (Debian's CNCF distribution registry, see internal/testregistry):
// images are pushed with go-containerregistry and scanned through
// internal/scan, which is why this is an external test package.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	_ "github.com/picket-cdr/picket/internal/analyzer/all"
	"github.com/picket-cdr/picket/internal/cache"
	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/inventory"
	"github.com/picket-cdr/picket/internal/report"
	"github.com/picket-cdr/picket/internal/scan"
	"github.com/picket-cdr/picket/internal/testimage"
	"github.com/picket-cdr/picket/internal/testregistry"
)

// alpineID is the config digest of the shared alpine:3.10 image.
const alpineID = "sha256:af341ccd2df8b0e2d67cf8dd32e087bfda4e5756ebd1c76bbf3efa0dc246590e"

// alpinePackages are the apk packages of the shared alpine:3.10 image.
var alpinePackages = map[string]string{
	"alpine-baselayout": "3.1.2-r0", "alpine-keys": "2.1-r2", "apk-tools": "2.10.4-r2",
	"busybox": "1.30.1-r3", "ca-certificates-cacert": "20190108-r0", "libc-utils": "0.7.1-r0",
	"libcrypto1.1": "1.1.1d-r2", "libssl1.1": "1.1.1d-r2", "libtls-standalone": "2.9.1-r0",
	"musl": "1.1.22-r3", "musl-utils": "1.1.22-r3", "scanelf": "1.2.3-r0",
	"ssl_client": "1.30.1-r3", "zlib": "1.2.11-r1",
}

// shared returns a path under ../shared, skipping when it is absent.
func shared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared test data %s not available: %v", rel, err)
	}
	return p
}

// alpineImage loads the shared alpine:3.10 docker save archive.
func alpineImage(t testing.TB) v1.Image {
	t.Helper()
	p := testimage.Gunzip(t, shared(t, "images/alpine-3.10-docker-save.tar.gz"))
	img, err := tarball.ImageFromPath(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// busyboxArm64 is the shared busybox OCI layout's image with its config
// relabelled linux/arm64 (the contents stay amd64: only the label matters
// for platform selection).
func busyboxArm64(t testing.TB) v1.Image {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(shared(t, "images/busybox-1.38-musl-oci"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("busybox layout has %d manifests, want 1", len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = "linux", "arm64", ""
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func parseRef(t testing.TB, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// push writes img to ref (a plain-HTTP registry) and returns the manifest
// digest the registry serves for it.
func push(t testing.TB, img v1.Image, ref string, opts ...remote.Option) v1.Hash {
	t.Helper()
	r := parseRef(t, ref)
	if err := remote.Write(r, img, opts...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return head(t, r, opts...)
}

// head returns the digest the registry serves for r.
func head(t testing.TB, r name.Reference, opts ...remote.Option) v1.Hash {
	t.Helper()
	desc, err := remote.Head(r, opts...)
	if err != nil {
		t.Fatalf("HEAD %s: %v", r, err)
	}
	return desc.Digest
}

func digestOf(t testing.TB, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func scanRegistry(ref string, opts image.Options, sopts ...scan.Option) (*report.Report, error) {
	return scan.New(sopts...).Scan(context.Background(), "registry:"+ref, opts)
}

func mustScan(t testing.TB, ref string, opts image.Options, sopts ...scan.Option) *report.Report {
	t.Helper()
	rep, err := scanRegistry(ref, opts, sopts...)
	if err != nil {
		t.Fatalf("scan registry:%s: %v", ref, err)
	}
	return rep
}

// checkAlpine asserts rep is the shared alpine:3.10 image served with
// manifest digest want.
func checkAlpine(t testing.TB, rep *report.Report, want v1.Hash) {
	t.Helper()
	got := apkPackages(rep)
	if !reflect.DeepEqual(got, alpinePackages) {
		t.Errorf("packages:\n got %v\nwant %v", got, alpinePackages)
	}
	if d := rep.Target.Distro; d.ID != "alpine" || d.VersionID != "3.10.4" {
		t.Errorf("distro = %+v, want alpine 3.10.4", d)
	}
	if rep.Target.Source != image.Registry {
		t.Errorf("source = %q", rep.Target.Source)
	}
	if rep.Target.Digest != want.String() {
		t.Errorf("digest = %s, want the pushed manifest's %s", rep.Target.Digest, want)
	}
	if rep.Target.ImageID != alpineID {
		t.Errorf("image id = %s, want %s", rep.Target.ImageID, alpineID)
	}
	if rep.Target.OS != "linux" || rep.Target.Architecture != "amd64" || len(rep.Target.Layers) != 1 {
		t.Errorf("platform %s/%s, %d layers", rep.Target.OS, rep.Target.Architecture, len(rep.Target.Layers))
	}
}

// apkPackages returns the report's Alpine packages (other analyzers may find
// more, e.g. the busybox binary).
func apkPackages(rep *report.Report) map[string]string {
	got := map[string]string{}
	for _, p := range rep.Packages {
		if p.Ecosystem == inventory.Alpine {
			got[p.Name] = p.Version
		}
	}
	return got
}

func TestRegistryScan(t *testing.T) {
	reg := testregistry.Start(t)
	img := alpineImage(t)
	ref := reg.Ref("library/alpine:3.10")
	pushed := push(t, img, ref)
	if d := digestOf(t, img); d != pushed {
		t.Fatalf("registry serves %s for the pushed manifest %s", pushed, d)
	}

	t.Run("by tag", func(t *testing.T) {
		rep := mustScan(t, ref, image.Options{Insecure: true})
		checkAlpine(t, rep, pushed)
		if want := []string{ref}; !reflect.DeepEqual(rep.Target.RepoTags, want) {
			t.Errorf("repo tags %v, want %v", rep.Target.RepoTags, want)
		}
		if rep.Target.Name != "registry:"+ref && rep.Target.Name != ref {
			t.Errorf("name %q", rep.Target.Name)
		}
	})
	t.Run("by digest", func(t *testing.T) {
		checkAlpine(t, mustScan(t, reg.Ref("library/alpine@"+pushed.String()), image.Options{Insecure: true}), pushed)
	})
	t.Run("missing tag", func(t *testing.T) {
		_, err := scanRegistry(reg.Ref("library/alpine:nope"), image.Options{Insecure: true})
		if err == nil || !strings.Contains(err.Error(), "MANIFEST_UNKNOWN") {
			t.Fatalf("err = %v, want MANIFEST_UNKNOWN", err)
		}
		t.Logf("%v", err)
	})
	t.Run("loopback without Insecure", func(t *testing.T) {
		// go-containerregistry, like dockerd, lets 127.0.0.1 (and
		// localhost, ::1 and RFC 1918 addresses) fall back to plain HTTP
		// without being told: Options.Insecure is not needed here.
		checkAlpine(t, mustScan(t, ref, image.Options{}), pushed)
	})
}

// TestRegistryPlainHTTPNeedsInsecure serves plain HTTP on 127.0.0.2, which
// go-containerregistry does not treat as local: without Options.Insecure the
// client speaks HTTPS and fails.
func TestRegistryPlainHTTPNeedsInsecure(t *testing.T) {
	reg := testregistry.Start(t, testregistry.WithIP("127.0.0.2"))
	ref := reg.Ref("library/alpine:3.10")
	pushed := push(t, alpineImage(t), ref)

	_, err := scanRegistry(ref, image.Options{})
	if err == nil {
		t.Fatal("plain-HTTP registry scanned without Options.Insecure")
	}
	if msg := err.Error(); !strings.Contains(msg, "image: registry:") ||
		!strings.Contains(msg, "https://"+reg.Host()) ||
		!strings.Contains(msg, "server gave HTTP response to HTTPS client") {
		t.Errorf("err = %v, want the HTTPS request to %s and its failure", err, reg.Host())
	}
	t.Logf("without Insecure: %v", err)
	checkAlpine(t, mustScan(t, ref, image.Options{Insecure: true}), pushed)
}

// dockerConfig points DOCKER_CONFIG (and HOME, so no user configuration is
// read) at a fresh directory whose config.json holds auths for host.
func dockerConfig(t *testing.T, host, user, pass string) {
	t.Helper()
	dir := t.TempDir()
	auths := map[string]any{}
	if user != "" {
		auths[host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))}
	}
	b, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", "")
}

func TestRegistryAuth(t *testing.T) {
	const user, pass = "picket", "s3cret-Pa55"
	reg := testregistry.Start(t, testregistry.WithAuth(user, pass))
	ref := reg.Ref("private/alpine:3.10")
	img := alpineImage(t)

	// Pushing needs the credentials too.
	if err := remote.Write(parseRef(t, ref), img); err == nil || !unauthorized(err) {
		t.Fatalf("anonymous push: err = %v, want unauthorized", err)
	}
	pushed := push(t, img, ref, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))

	t.Run("credentials from the docker config", func(t *testing.T) {
		dockerConfig(t, reg.Host(), user, pass)
		checkAlpine(t, mustScan(t, ref, image.Options{Insecure: true}), pushed)
	})
	for _, tt := range []struct{ name, user, pass string }{
		{"no credentials", "", ""},
		{"wrong password", user, "wrong"},
		{"unknown user", "mallory", pass},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dockerConfig(t, reg.Host(), tt.user, tt.pass)
			_, err := scanRegistry(ref, image.Options{Insecure: true})
			if err == nil || !unauthorized(err) {
				t.Fatalf("err = %v, want unauthorized", err)
			}
			t.Logf("%v", err)
		})
	}
}

func unauthorized(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "unauthorized") || strings.Contains(msg, "401")
}

func TestRegistryMultiArch(t *testing.T) {
	reg := testregistry.Start(t)
	amd64, arm64 := alpineImage(t), busyboxArm64(t)
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: amd64, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm64, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
	)
	ref := reg.Ref("library/multi:1")
	r := parseRef(t, ref)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatalf("push index: %v", err)
	}
	idxDigest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if got := head(t, r); got != idxDigest {
		t.Fatalf("registry serves %s, pushed index %s", got, idxDigest)
	}
	amd64Digest, arm64Digest := digestOf(t, amd64), digestOf(t, arm64)

	for _, platform := range []string{"linux/amd64", ""} {
		t.Run("platform "+platform, func(t *testing.T) {
			// Without a platform go-containerregistry picks linux/amd64.
			checkAlpine(t, mustScan(t, ref, image.Options{Insecure: true, Platform: platform}), amd64Digest)
		})
	}
	t.Run("platform linux/arm64", func(t *testing.T) {
		rep := mustScan(t, ref, image.Options{Insecure: true, Platform: "linux/arm64"})
		if rep.Target.Architecture != "arm64" || rep.Target.OS != "linux" {
			t.Errorf("platform %s/%s, want linux/arm64", rep.Target.OS, rep.Target.Architecture)
		}
		if rep.Target.Digest != arm64Digest.String() {
			t.Errorf("digest %s, want the arm64 manifest's %s", rep.Target.Digest, arm64Digest)
		}
		if apk := apkPackages(rep); len(apk) != 0 || !rep.Target.Distro.Empty() {
			t.Errorf("busybox image has apk packages %v, distro %+v", apk, rep.Target.Distro)
		}
		if len(rep.Target.Layers) != 1 || rep.Stats.Files < 400 {
			t.Errorf("%d layers, %d files; want busybox's 1 layer and > 400 entries", len(rep.Target.Layers), rep.Stats.Files)
		}
	})
	t.Run("platform linux/s390x", func(t *testing.T) {
		_, err := scanRegistry(ref, image.Options{Insecure: true, Platform: "linux/s390x"})
		if err == nil || !strings.Contains(err.Error(), "s390x") {
			t.Fatalf("err = %v, want one naming the platform", err)
		}
		t.Logf("%v", err)
	})
	t.Run("bad platform", func(t *testing.T) {
		_, err := scanRegistry(ref, image.Options{Insecure: true, Platform: "linux/arm64/v8/extra"})
		if err == nil || !strings.Contains(err.Error(), "platform") {
			t.Fatalf("err = %v, want a platform error", err)
		}
		t.Logf("%v", err)
	})
}

// TestRegistryLayerCache scans twice with a layer cache: the second scan
// must take every layer from the cache without downloading its blob.
func TestRegistryLayerCache(t *testing.T) {
	reg := testregistry.Start(t)
	img := alpineImage(t)
	ref := reg.Ref("library/alpine:3.10")
	pushed := push(t, img, ref)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var blobs []*regexp.Regexp
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, regexp.MustCompile(`"GET /v2/library/alpine/blobs/`+regexp.QuoteMeta(d.String())+` HTTP/[0-9.]+" 200 `))
	}
	fetches := func() []int {
		var n []int
		log := reg.Log()
		for _, re := range blobs {
			n = append(n, len(re.FindAllStringIndex(log, -1)))
		}
		return n
	}
	if n := fetches(); !reflect.DeepEqual(n, make([]int, len(layers))) {
		t.Fatalf("layer blobs fetched %v times before any scan", n)
	}

	store, err := cache.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	opts := image.Options{Insecure: true}
	first := mustScan(t, ref, opts, scan.WithCache(store))
	checkAlpine(t, first, pushed)
	afterFirst := fetches()
	for i, n := range afterFirst {
		if n != 1 {
			t.Errorf("first scan fetched layer %d's blob %d times, want 1", i, n)
		}
	}
	second := mustScan(t, ref, opts, scan.WithCache(store))
	checkAlpine(t, second, pushed)
	if first.Stats.LayersCached != 0 || second.Stats.LayersCached != len(layers) {
		t.Errorf("layers cached: first %d, second %d; want 0 and %d", first.Stats.LayersCached, second.Stats.LayersCached, len(layers))
	}
	for i, l := range second.Target.Layers {
		if !l.Cached {
			t.Errorf("second scan: layer %d not marked cached", i)
		}
	}
	if n := fetches(); !reflect.DeepEqual(n, afterFirst) {
		t.Errorf("second scan downloaded cached layers: blob fetches %v -> %v", afterFirst, n)
	}
	if !reflect.DeepEqual(first.Packages, second.Packages) {
		t.Error("cached scan's packages differ from the fresh scan's")
	}
}

// TestRegistryInsecureTLS: Options.Insecure promises "plain HTTP and
// unverified TLS"; a registry with a self-signed certificate must be
// readable with it, and refused without it.
func TestRegistryInsecureTLS(t *testing.T) {
	reg := testregistry.Start(t, testregistry.WithTLS(), testregistry.WithIP("127.0.0.2"))
	ref := reg.Ref("library/alpine:3.10")
	pushed := push(t, alpineImage(t), ref, remote.WithTransport(reg.Transport()))

	_, err := scanRegistry(ref, image.Options{})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("self-signed certificate: err = %v, want a certificate error", err)
	}
	t.Logf("without Insecure: %v", err)
	rep, err := scanRegistry(ref, image.Options{Insecure: true})
	if err != nil {
		// OpenRemote passes name.Insecure (plain HTTP allowed) but keeps
		// go-containerregistry's verifying transport: it also needs
		// remote.WithTransport with TLSClientConfig.InsecureSkipVerify.
		t.Fatalf("BUG: Options.Insecure does not accept an unverified certificate (picket --insecure promises it): %v", err)
	}
	checkAlpine(t, rep, pushed)
}
