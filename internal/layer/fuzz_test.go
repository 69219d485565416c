package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// FuzzWalk feeds arbitrary bytes to the tar walker and the merge: it must
// never panic, never produce a path outside the root, and stay bounded.
func FuzzWalk(f *testing.F) {
	f.Add(mkTar(f, tf{Name: "etc/passwd", Body: "root"}, tf{Name: "x", Typ: tar.TypeSymlink, Link: "../../y"}))
	f.Add(mkTar(f, tf{Name: "a/.wh..wh..opq"}, tf{Name: ".wh.b"}, tf{Name: "l", Typ: tar.TypeLink, Link: "etc/passwd"}))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := Walk(context.Background(), bytes.NewReader(data), func(_ context.Context, e *Entry, r io.Reader) error {
			if r != nil {
				_, err := io.Copy(io.Discard, io.LimitReader(r, 1<<20))
				return err
			}
			return nil
		}, Options{MaxBytes: 8 << 20, MaxEntries: 10000})
		if err != nil {
			return
		}
		for _, e := range tb.Entries {
			if !strings.HasPrefix(e.Path, "/") || strings.Contains(e.Path, "/../") || strings.HasSuffix(e.Path, "/..") {
				t.Fatalf("path escapes root: %q", e.Path)
			}
		}
		fs := Merge([]*Table{tb, tb})
		fs.ForEach(func(e *Entry, _ int) {
			if _, err := fs.Resolve(e.Path); err != nil && !strings.Contains(err.Error(), "symbolic links") {
				t.Fatalf("Resolve(%q): %v", e.Path, err)
			}
		})
	})
}
