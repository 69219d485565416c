// Package testimage builds real Docker images in the machine's Docker Engine
// for Picket's integration tests. Only _test.go files may import it (a test
// of this package enforces that); cmd/mkimages exposes it to bench scripts.
//
// Two images are available:
//
//   - Bookworm / RequireBookworm: picket-test/bookworm-apps:BookwormVersion,
//     a debootstrap'ed Debian bookworm (minbase) with python3-requests,
//     node-lodash and liblog4j2-java, plus a Go binary with module build
//     information at GoBinaryPath. Its root filesystem stays on disk
//     (Image.RootFS), so tests can compare a scan with the truth:
//     Image.DpkgPackages, Image.DpkgList (dpkg-query on the image's dpkg
//     database) and Image.GoBuildInfo.
//   - Busybox / RequireBusybox: picket-test/busybox:BusyboxVersion, FROM
//     scratch with Debian's static busybox and its applet symlinks, small
//     and able to run (sh, ls, ...), for runtime and daemon tests.
//
// Typical use in a test:
//
//	func TestScanBookworm(t *testing.T) {
//		img := testimage.RequireBookworm(t) // skips without Docker/root, or with -short
//		want, err := img.DpkgPackages()
//		if err != nil {
//			t.Fatal(err)
//		}
//		archive, err := img.SaveArchive(context.Background(), t.TempDir())
//		...                                 // scan "docker-archive:"+archive or the daemon's img.Ref
//	}
//
// Builds are idempotent and cached: an image whose tag exists is reused
// (warm calls take tens of milliseconds); the bookworm root filesystem is
// kept under CacheDir() ($PICKET_TESTIMAGE_CACHE, default
// /var/tmp/picket-testimage), and re-imported if its image was removed. A
// cold bookworm build takes about a minute, mostly debootstrap downloading
// from the mirror of the machine's apt sources ($PICKET_DEBIAN_MIRROR
// overrides it). `go test ./...` runs packages in parallel; builders in
// different processes wait for each other on a flock under os.TempDir(), and
// calls within one process share one build.
//
// Errors wrapping ErrUnavailable mean the machine lacks something the images
// need (Docker daemon, root, debootstrap or busybox-static that apt-get could
// not install, the go tool); RequireBookworm and RequireBusybox skip the test
// on them and fail it on anything else.
//
// Change a recipe, bump its version constant: the tag and the cache directory
// are named after it. To start over, remove the images (docker rmi
// picket-test/bookworm-apps:1 picket-test/busybox:1) and CacheDir().
package testimage
