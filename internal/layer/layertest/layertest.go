// Package layertest builds tar streams for tests of the walker and of
// everything above it.
package layertest

import (
	"archive/tar"
	"bytes"
	"testing"
)

// File is one tar member. Typ defaults to a regular file and Mode to 0644.
type File struct {
	Name, Body, Link string
	Typ              byte
	Mode             int64
}

// Tar returns a tar stream holding files in order.
func Tar(t testing.TB, files ...File) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		typ := f.Typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: f.Name, Typeflag: typ, Mode: mode, Linkname: f.Link, Format: tar.FormatPAX}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(f.Body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(f.Body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
