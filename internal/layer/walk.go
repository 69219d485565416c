package layer

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// Errors returned by Walk. They are wrapped with details; test with errors.Is.
var (
	ErrTooLarge       = errors.New("layer: layer exceeds the uncompressed size limit (possible decompression bomb)")
	ErrTooManyEntries = errors.New("layer: layer exceeds the entry count limit")
	ErrDigestMismatch = errors.New("layer: content does not match its diff id")
	ErrCorrupt        = errors.New("layer: corrupt or truncated tar stream")
)

// Defaults for Options.
const (
	DefaultMaxBytes   int64 = 64 << 30 // 64 GiB uncompressed per layer
	DefaultMaxEntries       = 10_000_000
)

// Table is what one layer contributes to an image's filesystem.
type Table struct {
	DiffID    string   // "sha256:<hex>" of the uncompressed tar, computed while reading
	Entries   []Entry  // in tar order; later duplicates override earlier ones
	Whiteouts []string // paths this layer deletes from the layers below it
	Opaques   []string // directories whose lower-layer contents this layer hides
	Bytes     int64    // uncompressed bytes read
	// Unsafe counts entries skipped because their name or link target tried
	// to leave the root, or their type is not a filesystem object.
	Unsafe        int
	UnsafeSamples []string // up to 10 offending names, for reports
}

// Visitor is called for every regular file and hardlink in a layer, in tar
// order. r yields the file's content (nil for hardlinks, whose content is the
// target's); a visitor that does not read it costs nothing more than the tar
// skip. The entry must not be retained after the call returns except by
// copying.
type Visitor func(ctx context.Context, e *Entry, r io.Reader) error

// Options bound a walk.
type Options struct {
	MaxBytes   int64  // uncompressed bytes; 0 means DefaultMaxBytes
	MaxEntries int    // 0 means DefaultMaxEntries
	DiffID     string // when set, the computed diff id must equal it
}

// Walk reads one layer from r — a tar stream, optionally gzip or zstd
// compressed (detected from its magic bytes) — calls v for the regular files
// and returns the layer's table. It never writes to disk.
func Walk(ctx context.Context, r io.Reader, v Visitor, opts Options) (*Table, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	plain, closeFn, err := Decompress(r)
	if err != nil {
		return nil, err
	}
	defer closeFn()

	h := sha256.New()
	cr := &limitedCounter{r: plain, h: h, max: opts.MaxBytes}
	tr := tar.NewReader(cr)
	t := &Table{}
	var hardlinks []int

	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if cr.exceeded {
				return nil, fmt.Errorf("%w (limit %d bytes)", ErrTooLarge, opts.MaxBytes)
			}
			return nil, fmt.Errorf("%w: entry %d: %v", ErrCorrupt, n, err)
		}
		if n >= opts.MaxEntries {
			return nil, fmt.Errorf("%w (limit %d)", ErrTooManyEntries, opts.MaxEntries)
		}
		p, ok := CleanName(hdr.Name)
		if !ok {
			t.unsafe(hdr.Name)
			continue
		}
		dir, base := path.Split(p)
		if strings.HasPrefix(base, whiteoutPrefix) {
			if base == opaqueMarker {
				t.Opaques = append(t.Opaques, path.Clean(dir))
			} else if name := strings.TrimPrefix(base, whiteoutPrefix); name != "" && name != "." {
				t.Whiteouts = append(t.Whiteouts, path.Join(dir, name))
			}
			continue
		}
		if p == "/" {
			continue // the root itself carries nothing we track
		}
		e := Entry{
			Path: p,
			Size: hdr.Size,
			Mode: tarMode(hdr.Mode),
			UID:  clampID(hdr.Uid),
			GID:  clampID(hdr.Gid),
		}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeGNUSparse:
			e.Type = TypeReg
		case tar.TypeDir:
			e.Type = TypeDir
			e.Size = 0
		case tar.TypeSymlink:
			e.Type = TypeSymlink
			e.Link = hdr.Linkname
			e.Size = int64(len(hdr.Linkname))
		case tar.TypeLink:
			target, ok := CleanName(hdr.Linkname)
			if !ok || target == "/" {
				t.unsafe(hdr.Name + " => " + hdr.Linkname)
				continue
			}
			e.Type = TypeHardlink
			e.Link = target
			e.Size = 0
		case tar.TypeChar:
			e.Type = TypeChar
		case tar.TypeBlock:
			e.Type = TypeBlock
		case tar.TypeFifo:
			e.Type = TypeFIFO
		default:
			// PAX global headers, GNU long names, etc. are handled by
			// archive/tar; anything else is not a filesystem object.
			t.unsafe(hdr.Name)
			continue
		}
		t.Entries = append(t.Entries, e)
		if e.Type == TypeHardlink {
			hardlinks = append(hardlinks, len(t.Entries)-1)
		}
		if v != nil && (e.Type == TypeReg || e.Type == TypeHardlink) {
			var body io.Reader = tr
			if e.Type == TypeHardlink {
				body = nil
			}
			if err := v(ctx, &t.Entries[len(t.Entries)-1], body); err != nil {
				if cr.exceeded {
					return nil, fmt.Errorf("%w (limit %d bytes)", ErrTooLarge, opts.MaxBytes)
				}
				if errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrCorrupt) {
					return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, p, err)
				}
				return nil, err
			}
		}
	}
	// Drain the rest of the stream (tar padding) so the digest covers it.
	if _, err := io.Copy(io.Discard, cr); err != nil {
		if cr.exceeded {
			return nil, fmt.Errorf("%w (limit %d bytes)", ErrTooLarge, opts.MaxBytes)
		}
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	t.Bytes = cr.n
	t.DiffID = "sha256:" + hex.EncodeToString(h.Sum(nil))
	if opts.DiffID != "" && opts.DiffID != t.DiffID {
		return nil, fmt.Errorf("%w: expected %s, read %s", ErrDigestMismatch, opts.DiffID, t.DiffID)
	}
	resolveHardlinks(t, hardlinks)
	return t, nil
}

// resolveHardlinks gives each hardlink the size and mode of its target in
// the same layer, so stat-style consumers see real values.
func resolveHardlinks(t *Table, links []int) {
	if len(links) == 0 {
		return
	}
	want := make(map[string]int, len(links))
	for _, i := range links {
		want[t.Entries[i].Link] = -1
	}
	for i := range t.Entries {
		if _, ok := want[t.Entries[i].Path]; ok && t.Entries[i].Type == TypeReg {
			want[t.Entries[i].Path] = i
		}
	}
	for _, i := range links {
		if j := want[t.Entries[i].Link]; j >= 0 {
			t.Entries[i].Size = t.Entries[j].Size
			t.Entries[i].Mode = t.Entries[j].Mode
		}
	}
}

func (t *Table) unsafe(name string) {
	t.Unsafe++
	if len(t.UnsafeSamples) < 10 {
		if len(name) > 200 {
			name = name[:200] + "..."
		}
		t.UnsafeSamples = append(t.UnsafeSamples, name)
	}
}

func clampID(id int) uint32 {
	if id < 0 || id > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(id)
}

// tarMode converts tar mode bits (c_ISUID etc.) to fs.FileMode bits.
func tarMode(m int64) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// limitedCounter hashes and counts what is read, failing past max bytes.
type limitedCounter struct {
	r        io.Reader
	h        hash.Hash
	n, max   int64
	exceeded bool
}

func (c *limitedCounter) Read(p []byte) (int, error) {
	if c.n >= c.max {
		// Probe for one more byte to tell "exactly at the limit" from "over".
		var one [1]byte
		k, err := c.r.Read(one[:])
		if k > 0 {
			c.exceeded = true
			return 0, ErrTooLarge
		}
		return 0, err
	}
	if rem := c.max - c.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	k, err := c.r.Read(p)
	c.n += int64(k)
	c.h.Write(p[:k])
	return k, err
}

// Decompress sniffs r for gzip or zstd magic and returns a reader of the
// plain stream and a function releasing the decoder.
func Decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(4)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, nil, fmt.Errorf("layer: read: %w", err)
	}
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: gzip: %v", ErrCorrupt, err)
		}
		return zr, func() { zr.Close() }, nil
	case len(magic) >= 4 && bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(1<<27))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}
