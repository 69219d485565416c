package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/picket-cdr/picket/internal/layer"
)

var errNoSuchPath = errors.New("image: no such path")

// legacyMember matches docker save's "<64 hex>/layer.tar" and "<64 hex>.json".
var legacyMember = regexp.MustCompile(`^[0-9a-f]{64}(/layer\.tar|/json|/VERSION|\.json)$`)

// detectEntries is how many leading members are inspected to tell an image
// archive from a root filesystem tarball.
const detectEntries = 64

// Detect recognises what an existing path holds: an OCI layout directory,
// a root filesystem directory, an image archive (docker save or OCI, which
// the archive reader treats alike) or a root filesystem tarball.
func Detect(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", errNoSuchPath
		}
		return "", fmt.Errorf("image: %w", err)
	}
	if st.IsDir() {
		if _, err := os.Stat(filepath.Join(p, "oci-layout")); err == nil {
			return OCIDir, nil
		}
		return RootFS, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("image: %w", err)
	}
	defer f.Close()
	plain, done, err := layer.Decompress(f)
	if err != nil {
		return "", fmt.Errorf("image: %s: %w", p, err)
	}
	defer done()
	tr := tar.NewReader(plain)
	for i := 0; i < detectEntries; i++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("image: %s: not a tar archive: %w", p, err)
		}
		n := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
		switch {
		case n == "oci-layout" || n == "index.json" || strings.HasPrefix(n, "blobs/sha256/"):
			return OCIArchive, nil
		case n == "manifest.json" || n == "repositories" || legacyMember.MatchString(n):
			return DockerArchive, nil
		}
	}
	return RootFS, nil
}
