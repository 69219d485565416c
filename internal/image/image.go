// Package image opens container images from every place users keep them —
// docker save archives (plain, gzip or zstd), OCI layouts and OCI archives,
// registries, the local Docker Engine, root filesystem directories and
// tarballs — behind one interface that streams layers without extracting
// them to disk.
package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Transports, as skopeo and syft name them.
const (
	DockerArchive = "docker-archive"
	OCIDir        = "oci"
	OCIArchive    = "oci-archive"
	RootFS        = "rootfs"
	Registry      = "registry"
	DockerDaemon  = "docker-daemon"
)

// Transports lists the supported transport prefixes.
var Transports = []string{DockerArchive, OCIDir, OCIArchive, RootFS, Registry, DockerDaemon}

// ErrNotFound is returned when no source has the image.
var ErrNotFound = errors.New("image: not found")

// LayerInfo describes one layer in image order.
type LayerInfo struct {
	Index int
	// Key identifies the layer's stream within its source (a diff id for
	// registries and layouts, the archive member name for archives).
	Key string
	// DiffID is the digest of the uncompressed layer when the source knows
	// it before reading (empty otherwise; the walker computes it).
	DiffID string
	// Size is the stored (possibly compressed) size, -1 when unknown.
	Size int64
}

// Metadata is what is known about an image besides its layers' contents.
type Metadata struct {
	Name      string // as the user named it
	Source    string // the transport used
	ID        string // config digest ("sha256:...")
	Digest    string // manifest digest, when known
	RepoTags  []string
	Config    *v1.ConfigFile
	RawConfig []byte
	Layers    []LayerInfo
}

// LayerFunc receives one layer's stream (compressed or not; the walker
// detects it). It must consume or abandon r before returning.
type LayerFunc func(ctx context.Context, l LayerInfo, r io.Reader) error

// WalkOptions tune WalkLayers.
type WalkOptions struct {
	// Parallel bounds how many layers are read at once where the source
	// allows random access (registries, OCI layouts). Streams are serial.
	Parallel int
	// Skip reports layers whose analysis is already cached; they are not
	// opened when the source can tell the layer before reading it.
	Skip func(l LayerInfo) bool
	// Cached reports, without side effects, whether a layer's analysis is
	// cached; Config returns a cached image config by image id. Together
	// they let a source skip reading an image whose layers are all cached.
	Cached func(l LayerInfo) bool
	Config func(imageID string) []byte
}

// Image is an opened image.
type Image interface {
	// WalkLayers calls fn for each layer not skipped. For stream sources
	// (archives, the Docker Engine) layers arrive in archive order, and
	// Metadata is complete only after WalkLayers returns.
	WalkLayers(ctx context.Context, opts WalkOptions, fn LayerFunc) error
	// Metadata returns the image's metadata.
	Metadata() (*Metadata, error)
	Close() error
}

// Options configure Open.
type Options struct {
	// Insecure allows plain HTTP and unverified TLS to registries.
	Insecure bool
	// Platform selects from multi-platform indexes ("linux/amd64").
	Platform string
	// DockerHost overrides DOCKER_HOST for the daemon transport.
	DockerHost string
}

// Ref is a parsed image reference: a transport and what follows it.
type Ref struct {
	Transport string // empty for a bare reference
	Target    string
}

// String renders the reference with its transport.
func (r Ref) String() string {
	if r.Transport == "" {
		return r.Target
	}
	return r.Transport + ":" + r.Target
}

// ParseRef splits "transport:target". A string whose prefix is not a known
// transport is a bare reference ("alpine:3.19", "./image.tar").
func ParseRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, errors.New("image: empty image reference")
	}
	if t, rest, ok := strings.Cut(s, ":"); ok {
		for _, known := range Transports {
			if t == known {
				if rest == "" {
					return Ref{}, fmt.Errorf("image: %q: nothing after the %s: transport", s, t)
				}
				// Accept skopeo's "docker-daemon://" style too.
				return Ref{Transport: t, Target: strings.TrimPrefix(rest, "//")}, nil
			}
		}
	}
	return Ref{Target: s}, nil
}

// Open opens the image named by ref.
func Open(ctx context.Context, ref string, opts Options) (Image, error) {
	r, err := ParseRef(ref)
	if err != nil {
		return nil, err
	}
	switch r.Transport {
	case DockerArchive, OCIArchive:
		return OpenArchive(r.Target, r.Transport)
	case OCIDir:
		return OpenLayout(r.Target, opts)
	case RootFS:
		return OpenRootFS(r.Target)
	case Registry:
		return OpenRemote(ctx, r.Target, opts)
	case DockerDaemon:
		return OpenDaemon(ctx, r.Target, opts)
	}
	return openBare(ctx, r.Target, opts)
}

// openBare recognises an existing path by its content, else tries the Docker
// Engine and then the registry.
func openBare(ctx context.Context, target string, opts Options) (Image, error) {
	if kind, err := Detect(target); err == nil {
		switch kind {
		case OCIDir:
			return OpenLayout(target, opts)
		case DockerArchive, OCIArchive:
			return OpenArchive(target, kind)
		case RootFS:
			return OpenRootFS(target)
		}
	} else if !errors.Is(err, errNoSuchPath) {
		return nil, err
	}
	img, derr := OpenDaemon(ctx, target, opts)
	if derr == nil {
		return img, nil
	}
	img, rerr := OpenRemote(ctx, target, opts)
	if rerr == nil {
		return img, nil
	}
	return nil, fmt.Errorf("%w: %q is not a file or directory; docker daemon: %v; registry: %v", ErrNotFound, target, derr, rerr)
}
