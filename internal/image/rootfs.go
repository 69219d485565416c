package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// rootfsImage presents a root filesystem — a directory or a tarball — as a
// one-layer image. A directory is streamed as a tar built on the fly, so the
// same walker and analyzers apply; nothing is copied to disk.
type rootfsImage struct {
	path string
	dir  bool
	meta *Metadata
}

// OpenRootFS opens a root filesystem directory or tarball (plain, gzip or zstd).
func OpenRootFS(p string) (Image, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("image: rootfs: %w", err)
	}
	m := &Metadata{
		Name:   p,
		Source: RootFS,
		Config: &v1.ConfigFile{OS: "linux", RootFS: v1.RootFS{Type: "layers"}},
		Layers: []LayerInfo{{Index: 0, Key: "rootfs", Size: -1}},
	}
	return &rootfsImage{path: p, dir: st.IsDir(), meta: m}, nil
}

func (r *rootfsImage) Metadata() (*Metadata, error) { return r.meta, nil }
func (r *rootfsImage) Close() error                 { return nil }

func (r *rootfsImage) WalkLayers(ctx context.Context, _ WalkOptions, fn LayerFunc) error {
	info := r.meta.Layers[0]
	if !r.dir {
		f, err := os.Open(r.path)
		if err != nil {
			return fmt.Errorf("image: rootfs: %w", err)
		}
		defer f.Close()
		return fn(ctx, info, f)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarDir(ctx, r.path, pw)) }()
	err := fn(ctx, info, pr)
	pr.CloseWithError(errors.New("image: rootfs: reader closed")) // stop the writer if fn returned early
	return err
}

// pseudoFS are directories whose contents describe the running kernel, not
// files: they are skipped when the root being scanned is a live system.
var pseudoFS = map[string]bool{"proc": true, "sys": true, "dev": true}

// tarDir writes dir as a tar stream. Symlinks are stored, never followed;
// unreadable files are stored with their metadata and no content.
func tarDir(ctx context.Context, dir string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // unreadable directory: skip it, keep going
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() && pseudoFS[rel] && dir == "/" {
			return fs.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return nil
			}
		}
		if !fi.Mode().IsRegular() && !fi.IsDir() && fi.Mode()&fs.ModeSymlink == 0 {
			return nil // sockets, devices: not content
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return nil
		}
		hdr.Name = rel
		if fi.IsDir() {
			hdr.Name += "/"
		}
		var f *os.File
		if fi.Mode().IsRegular() {
			if f, err = os.Open(p); err != nil {
				hdr.Size = 0
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			if f != nil {
				f.Close()
			}
			return err
		}
		if f != nil {
			// A file that shrank is padded by the tar writer's size check:
			// copy exactly hdr.Size bytes.
			_, err := io.CopyN(tw, f, hdr.Size)
			f.Close()
			if err != nil {
				return fmt.Errorf("image: rootfs: %s: %w", p, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
