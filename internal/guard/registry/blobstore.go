package registry

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/picket-cdr/picket/internal/guard/registry/token"
)

// blobStore serves blob downloads straight from the upstream registry's
// storage when the guard runs next to it (distribution's filesystem
// driver, Options.BlobStorage): the guard has authorized the pull by then,
// and the kernel copies the file to the socket (sendfile) instead of the
// bytes crossing the registry, the loopback and the guard.
//
// A blob is served only when the repository links it, exactly as
// distribution checks (repositories/<name>/_layers/<alg>/<hex>/link holds
// the digest): a pull grant on one repository never reads another's blobs.
// Anything else (unknown digest, unlinked blob, other algorithms, storage
// errors) goes to the upstream, which answers as it always does.
type blobStore struct {
	root   string             // <rootdirectory>/docker/registry/v2
	served prometheus.Counter // blobs answered from storage
}

// newBlobStore checks that dir can be the filesystem driver's rootdirectory:
// a directory, and docker/registry/v2 in it a directory when it exists (a
// registry that never stored anything has none yet).
func newBlobStore(dir string, served prometheus.Counter) (*blobStore, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("registry: blob storage: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("registry: blob storage %s: not a directory", dir)
	}
	root := filepath.Join(dir, "docker", "registry", "v2")
	if fi, err := os.Stat(root); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("registry: blob storage %s: docker/registry/v2 is not a directory", dir)
	}
	return &blobStore{root: root, served: served}, nil
}

// open returns the blob's data file when repo links digest, or nil.
func (b *blobStore) open(repo, digest string) *os.File {
	alg, hex, ok := strings.Cut(digest, ":")
	if !ok || alg != "sha256" || len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" || !token.ValidRepository(repo) {
		return nil
	}
	link, err := os.ReadFile(filepath.Join(b.root, "repositories", filepath.FromSlash(repo), "_layers", alg, hex, "link"))
	if err != nil || !bytes.Equal(bytes.TrimSpace(link), []byte(digest)) {
		return nil
	}
	f, err := os.Open(filepath.Join(b.root, "blobs", alg, hex[:2], hex, "data"))
	if err != nil {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil
	}
	return f
}

// serve answers a blob GET or HEAD from storage and reports true, or
// reports false (nothing written) for the upstream to answer. Headers are
// distribution's; ranges and conditional requests work as there.
func (b *blobStore) serve(w http.ResponseWriter, r *http.Request, repo, digest string) bool {
	f := b.open(repo, digest)
	if f == nil {
		return false
	}
	defer f.Close()
	b.served.Inc() // before the response: a client that has it sees the count
	h := w.Header()
	h.Set("Docker-Content-Digest", digest)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Etag", `"`+digest+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	h.Set("Docker-Distribution-API-Version", "registry/2.0")
	// The *os.File itself, so that the copy can be a sendfile.
	http.ServeContent(w, r, "", time.Time{}, f)
	return true
}
