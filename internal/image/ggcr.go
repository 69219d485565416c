package image

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// v1Image adapts a go-containerregistry image (registry or OCI layout),
// whose layers can be opened in any order and in parallel.
type v1Image struct {
	img  v1.Image
	meta *Metadata
}

func newV1Image(img v1.Image, ref, transport string) (*v1Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image: %s: config: %w", ref, err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image: %s: config: %w", ref, err)
	}
	id, err := img.ConfigName()
	if err != nil {
		return nil, fmt.Errorf("image: %s: config digest: %w", ref, err)
	}
	m := &Metadata{Name: ref, Source: transport, ID: id.String(), Config: cf, RawConfig: raw}
	if d, err := img.Digest(); err == nil {
		m.Digest = d.String()
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("image: %s: layers: %w", ref, err)
	}
	if len(layers) != len(cf.RootFS.DiffIDs) {
		return nil, fmt.Errorf("image: %s: manifest has %d layers but config %d diff ids", ref, len(layers), len(cf.RootFS.DiffIDs))
	}
	for i, l := range layers {
		size, _ := l.Size()
		d := cf.RootFS.DiffIDs[i].String()
		m.Layers = append(m.Layers, LayerInfo{Index: i, Key: d, DiffID: d, Size: size})
	}
	return &v1Image{img: img, meta: m}, nil
}

func (v *v1Image) Metadata() (*Metadata, error) { return v.meta, nil }
func (v *v1Image) Close() error                 { return nil }

func (v *v1Image) WalkLayers(ctx context.Context, opts WalkOptions, fn LayerFunc) error {
	layers, err := v.img.Layers()
	if err != nil {
		return fmt.Errorf("image: layers: %w", err)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, opts.Parallel))
	for i, l := range layers {
		info := v.meta.Layers[i]
		if opts.Skip != nil && opts.Skip(info) {
			continue
		}
		g.Go(func() error {
			// Compressed() verifies the blob digest as it is read; the walker
			// verifies the diff id of the decompressed stream.
			rc, err := l.Compressed()
			if err != nil {
				return fmt.Errorf("image: layer %d: %w", info.Index, err)
			}
			defer rc.Close()
			if err := fn(ctx, info, rc); err != nil {
				return err
			}
			// Drain so the verifying reader checks the digest.
			if _, err := io.Copy(io.Discard, rc); err != nil {
				return fmt.Errorf("image: layer %d: %w", info.Index, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// OpenRemote opens an image from a registry, with credentials from the
// Docker config and its credential helpers. Multi-platform indexes are
// resolved with the same platform choice as OCI layouts.
func OpenRemote(ctx context.Context, ref string, opts Options) (Image, error) {
	var nopts []name.Option
	if opts.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, fmt.Errorf("image: registry: %w", err)
	}
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	var rt http.RoundTripper = tr
	if opts.Insecure {
		// name.Insecure only permits plain HTTP; unverified TLS needs a
		// transport that skips verification (what crane --insecure does).
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for --insecure
	} else {
		// go-containerregistry, like dockerd, falls back to plain HTTP for
		// loopback and private addresses; only loopback keeps that without
		// --insecure, so a network attacker cannot downgrade a scan.
		rt = httpsOnly{tr}
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithTransport(rt)}
	desc, err := remote.Get(r, ropts...)
	if err != nil {
		return nil, fmt.Errorf("image: registry: %w", err)
	}
	var img v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("image: registry: %s: %w", ref, err)
		}
		if img, err = imageFromIndex(idx, "", opts.Platform, 0); err != nil {
			return nil, fmt.Errorf("image: registry: %s: %w", ref, err)
		}
	} else {
		if img, err = desc.Image(); err != nil {
			return nil, fmt.Errorf("image: registry: %s: %w", ref, err)
		}
	}
	v, err := newV1Image(img, ref, Registry)
	if err != nil {
		return nil, err
	}
	if t, ok := r.(name.Tag); ok {
		v.meta.RepoTags = []string{t.Name()}
	}
	return v, nil
}

// httpsOnly refuses plain-HTTP requests to anything but loopback.
type httpsOnly struct{ next http.RoundTripper }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" {
		host := req.URL.Hostname()
		if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" {
			return nil, fmt.Errorf("image: registry: refusing plain HTTP to %s (use --insecure to allow it)", req.URL.Host)
		}
	}
	return h.next.RoundTrip(req)
}

// OpenLayout opens an image from an OCI image layout directory. "DIR" picks
// the only (or platform-matching) image; "DIR:TAG" picks by the
// org.opencontainers.image.ref.name annotation.
func OpenLayout(target string, opts Options) (Image, error) {
	dir, tag := target, ""
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		if i := strings.LastIndexByte(target, ':'); i > 0 {
			dir, tag = target[:i], target[i+1:]
		}
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("image: oci: %s: %w", dir, err)
	}
	img, err := imageFromIndex(idx, tag, opts.Platform, 0)
	if err != nil {
		return nil, fmt.Errorf("image: oci: %s: %w", dir, err)
	}
	return newV1Image(img, target, OCIDir)
}

func imageFromIndex(idx v1.ImageIndex, tag, platform string, depth int) (v1.Image, error) {
	if depth > 4 {
		return nil, errors.New("index nesting too deep")
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	descs := im.Manifests
	if tag != "" {
		var named []v1.Descriptor
		for _, d := range descs {
			if d.Annotations["org.opencontainers.image.ref.name"] == tag {
				named = append(named, d)
			}
		}
		if len(named) == 0 {
			return nil, fmt.Errorf("no image tagged %q", tag)
		}
		descs = named
	}
	d, err := choose(descs, platform)
	if err != nil {
		return nil, err
	}
	if d.MediaType.IsIndex() {
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, err
		}
		return imageFromIndex(child, "", platform, depth+1)
	}
	return idx.Image(d.Digest)
}

// choose picks one manifest: the only one, or the one matching platform
// (default linux/amd64 when several are offered and none is asked for).
func choose(descs []v1.Descriptor, platform string) (v1.Descriptor, error) {
	var cands []v1.Descriptor
	for _, d := range descs {
		if d.MediaType.IsImage() || d.MediaType.IsIndex() || d.MediaType == "" {
			// Skip attestation manifests (buildx marks them "unknown/unknown").
			if d.Platform != nil && d.Platform.OS == "unknown" {
				continue
			}
			cands = append(cands, d)
		}
	}
	if len(cands) == 0 {
		return v1.Descriptor{}, errors.New("no image manifest found")
	}
	if len(cands) == 1 && platform == "" {
		return cands[0], nil
	}
	want := platform
	if want == "" {
		want = "linux/amd64"
	}
	wp, err := v1.ParsePlatform(want)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("platform: %w", err)
	}
	var offered []string
	for _, d := range cands {
		if d.Platform == nil {
			continue
		}
		offered = append(offered, d.Platform.String())
		if d.Platform.Satisfies(*wp) {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("no manifest for platform %s (offered: %s)", want, strings.Join(offered, ", "))
}
