package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/picket-cdr/picket/internal/layer"
)

// Limits on the small JSON members of an archive (manifests, configs).
const maxMetaBlob = 16 << 20

// ErrDigestMismatch is returned when an archive member's content does not
// match the digest in its name.
var ErrDigestMismatch = errors.New("image: blob content does not match its digest")

// archive reads a docker save or OCI archive as one stream: layers are
// analysed as they pass, small JSON members are kept, and the manifest —
// which docker puts at the end — orders the layers afterwards.
type archive struct {
	name      string
	transport string
	open      func(context.Context) (io.ReadCloser, error)
	preset    *Metadata // what the source knew beforehand (daemon)
	meta      *Metadata
	platform  string
}

// OpenArchive opens a docker save tarball or OCI archive at path, plain or
// gzip/zstd compressed. Both formats are recognised from their content, so
// transport only labels the result.
func OpenArchive(p, transport string) (Image, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("image: %s: %w", transport, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("image: %s: %s is a directory (use oci: for an OCI layout or rootfs: for a root filesystem)", transport, p)
	}
	return &archive{
		name:      p,
		transport: transport,
		open: func(context.Context) (io.ReadCloser, error) {
			f, err := os.Open(p)
			if err != nil {
				return nil, fmt.Errorf("image: %w", err)
			}
			return f, nil
		},
	}, nil
}

func (a *archive) Close() error { return nil }

func (a *archive) Metadata() (*Metadata, error) {
	if a.meta == nil {
		return nil, errors.New("image: archive metadata is known only after its layers are read")
	}
	return a.meta, nil
}

func (a *archive) WalkLayers(ctx context.Context, opts WalkOptions, fn LayerFunc) error {
	rc, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	plain, done, err := layer.Decompress(rc)
	if err != nil {
		return fmt.Errorf("image: %s: %w", a.name, err)
	}
	defer done()

	tr := tar.NewReader(plain)
	blobs := map[string][]byte{}
	links := map[string]string{}
	seen := map[string]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("image: %s: corrupt or truncated archive: %w", a.name, err)
		}
		name, ok := memberName(hdr.Name)
		if !ok {
			continue
		}
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			links[name] = path.Join(path.Dir(name), hdr.Linkname)
			continue
		case tar.TypeLink:
			if t, ok := memberName(hdr.Linkname); ok {
				links[name] = t
			}
			continue
		case tar.TypeReg:
		default:
			continue
		}
		br := bufio.NewReaderSize(tr, 64<<10)
		head, _ := br.Peek(512)
		if !looksLikeLayer(name, head) {
			if hdr.Size <= maxMetaBlob && isMetaName(name) {
				b, err := io.ReadAll(io.LimitReader(br, maxMetaBlob+1))
				if err != nil {
					return fmt.Errorf("image: %s: reading %s: %w", a.name, name, err)
				}
				if err := checkBlobDigest(name, b); err != nil {
					return err
				}
				blobs[name] = b
			}
			continue
		}
		info := LayerInfo{Index: -1, Key: name, Size: hdr.Size}
		if d := digestFromName(name); d != "" && !isCompressed(head) {
			info.DiffID = d
		}
		seen[name] = true
		if info.DiffID != "" && opts.Skip != nil && opts.Skip(info) {
			continue
		}
		// Blob names in OCI layouts are digests of the stored bytes: verify
		// them. Legacy names say nothing, and hashing twice would cost as
		// much as the walk itself (the walker verifies the diff id).
		d := digestFromName(name)
		var r io.Reader = br
		h := sha256.New()
		if d != "" {
			r = io.TeeReader(br, h)
		}
		if err := fn(ctx, info, r); err != nil {
			return err
		}
		if d != "" {
			if _, err := io.Copy(h, br); err != nil {
				return fmt.Errorf("image: %s: reading %s: %w", a.name, name, err)
			}
			if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != d {
				return fmt.Errorf("%w: %s is %s", ErrDigestMismatch, name, got)
			}
		}
	}
	meta, err := a.parseMetadata(blobs, links)
	if err != nil {
		return err
	}
	for _, l := range meta.Layers {
		if !seen[l.Key] {
			return fmt.Errorf("image: %s: layer %s named by the manifest is missing (truncated archive?)", a.name, l.Key)
		}
	}
	a.meta = meta
	return nil
}

// parseMetadata reads docker's manifest.json or, failing that, an OCI
// index.json and resolves the chosen image's config and layer order.
func (a *archive) parseMetadata(blobs map[string][]byte, links map[string]string) (*Metadata, error) {
	resolve := func(n string) string {
		for i := 0; i < 8; i++ {
			t, ok := links[n]
			if !ok {
				return n
			}
			n = t
		}
		return n
	}
	m := &Metadata{Name: a.name, Source: a.transport}
	if a.preset != nil {
		*m = *a.preset
	}
	var configName string
	var layerKeys []string
	if raw, ok := blobs["manifest.json"]; ok {
		var dm []struct {
			Config   string
			RepoTags []string
			Layers   []string
		}
		if err := json.Unmarshal(raw, &dm); err != nil {
			return nil, fmt.Errorf("image: %s: manifest.json: %w", a.name, err)
		}
		if len(dm) == 0 {
			return nil, fmt.Errorf("image: %s: manifest.json lists no image", a.name)
		}
		configName = resolve(path.Clean(dm[0].Config))
		if a.preset == nil {
			m.RepoTags = dm[0].RepoTags
		}
		for _, l := range dm[0].Layers {
			layerKeys = append(layerKeys, resolve(path.Clean(l)))
		}
	} else if raw, ok := blobs["index.json"]; ok {
		manifest, err := pickOCIManifest(raw, blobs, a.platform, 0)
		if err != nil {
			return nil, fmt.Errorf("image: %s: %w", a.name, err)
		}
		configName = blobPath(manifest.Config.Digest)
		for _, l := range manifest.Layers {
			layerKeys = append(layerKeys, blobPath(l.Digest))
		}
		if d, err := digestOf(blobs, manifest); err == nil {
			m.Digest = d
		}
	} else {
		return nil, fmt.Errorf("image: %s: neither manifest.json nor index.json found: not a docker save or OCI archive", a.name)
	}
	cfg, ok := blobs[configName]
	if !ok {
		return nil, fmt.Errorf("image: %s: config %s missing from archive", a.name, configName)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(cfg))
	if err != nil {
		return nil, fmt.Errorf("image: %s: config: %w", a.name, err)
	}
	m.Config, m.RawConfig = cf, cfg
	sum := sha256.Sum256(cfg)
	m.ID = "sha256:" + hex.EncodeToString(sum[:])
	if len(cf.RootFS.DiffIDs) != len(layerKeys) {
		return nil, fmt.Errorf("image: %s: config lists %d diff ids but the manifest %d layers", a.name, len(cf.RootFS.DiffIDs), len(layerKeys))
	}
	m.Layers = make([]LayerInfo, len(layerKeys))
	for i, k := range layerKeys {
		m.Layers[i] = LayerInfo{Index: i, Key: k, DiffID: cf.RootFS.DiffIDs[i].String(), Size: -1}
	}
	return m, nil
}

// pickOCIManifest follows an OCI index (possibly nested) to one image
// manifest, choosing by platform when several are offered.
func pickOCIManifest(raw []byte, blobs map[string][]byte, platform string, depth int) (*v1.Manifest, error) {
	if depth > 4 {
		return nil, errors.New("OCI index nesting too deep")
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	desc, err := choose(idx.Manifests, platform)
	if err != nil {
		return nil, err
	}
	b, ok := blobs[blobPath(desc.Digest)]
	if !ok {
		return nil, fmt.Errorf("manifest %s missing from archive", desc.Digest)
	}
	if desc.MediaType.IsIndex() {
		return pickOCIManifest(b, blobs, platform, depth+1)
	}
	mf, err := v1.ParseManifest(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("manifest %s: %w", desc.Digest, err)
	}
	return mf, nil
}

func digestOf(blobs map[string][]byte, mf *v1.Manifest) (string, error) {
	for name, b := range blobs {
		var probe v1.Manifest
		if json.Unmarshal(b, &probe) == nil && probe.Config.Digest == mf.Config.Digest && len(probe.Layers) == len(mf.Layers) {
			return "sha256:" + path.Base(name), nil
		}
	}
	return "", errors.New("not found")
}

func blobPath(d v1.Hash) string { return path.Join("blobs", d.Algorithm, d.Hex) }

func memberName(n string) (string, bool) {
	c, ok := layer.CleanName(n)
	if !ok || c == "/" {
		return "", false
	}
	return strings.TrimPrefix(c, "/"), true
}

func isMetaName(n string) bool {
	return strings.HasSuffix(n, ".json") || strings.HasPrefix(n, "blobs/") || n == "repositories" || n == "oci-layout" || path.Base(n) == "json"
}

// digestFromName returns "sha256:<hex>" for OCI blob paths.
func digestFromName(n string) string {
	dir, hexd := path.Split(n)
	if dir != "blobs/sha256/" || len(hexd) != 64 {
		return ""
	}
	if _, err := hex.DecodeString(hexd); err != nil {
		return ""
	}
	return "sha256:" + hexd
}

func checkBlobDigest(name string, b []byte) error {
	d := digestFromName(name)
	if d == "" {
		return nil
	}
	sum := sha256.Sum256(b)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != d {
		return fmt.Errorf("%w: %s is %s", ErrDigestMismatch, name, got)
	}
	return nil
}

func isCompressed(head []byte) bool {
	return len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b ||
		len(head) >= 4 && bytes.Equal(head[:4], []byte{0x28, 0xb5, 0x2f, 0xfd})
}

// looksLikeLayer reports whether a member is a (compressed) tar stream.
func looksLikeLayer(name string, head []byte) bool {
	if isCompressed(head) || strings.HasSuffix(name, "/layer.tar") {
		return true
	}
	if len(head) >= 262 && string(head[257:262]) == "ustar" {
		return true
	}
	// An empty layer is two zero blocks; no JSON document starts with NUL.
	return len(head) == 512 && bytes.Count(head, []byte{0}) == 512
}
