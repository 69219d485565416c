package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"
)

// OpenDaemon opens an image held by the local Docker Engine (DOCKER_HOST and
// friends are honoured). The image is streamed from the Engine's save
// endpoint straight into the walker: no docker save file is written.
func OpenDaemon(ctx context.Context, ref string, opts Options) (Image, error) {
	copts := []client.Opt{client.FromEnv}
	if opts.DockerHost != "" {
		copts = append(copts, client.WithHost(opts.DockerHost))
	}
	cli, err := client.New(copts...)
	if err != nil {
		return nil, fmt.Errorf("image: docker-daemon: %w", err)
	}
	insp, err := cli.ImageInspect(ctx, ref)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("image: docker-daemon: %s: %w", ref, err)
	}
	preset := &Metadata{Name: ref, Source: DockerDaemon, ID: insp.ID, RepoTags: insp.RepoTags}
	if len(insp.RepoDigests) > 0 {
		preset.Digest = insp.RepoDigests[0]
	}
	id := insp.ID
	return &daemonImage{
		cli:     cli,
		diffIDs: insp.RootFS.Layers,
		archive: archive{
			name:      ref,
			transport: DockerDaemon,
			preset:    preset,
			platform:  opts.Platform,
			open: func(ctx context.Context) (io.ReadCloser, error) {
				// Save by id: a tag could move between inspect and save.
				rc, err := cli.ImageSave(ctx, []string{id})
				if err != nil {
					return nil, fmt.Errorf("image: docker-daemon: save %s: %w", ref, err)
				}
				return rc, nil
			},
		},
	}, nil
}

type daemonImage struct {
	archive
	cli     *client.Client
	diffIDs []string // from inspect, base layer first
}

// WalkLayers skips the Engine's save stream altogether when the image's
// config and every layer are cached: old Engines (before 25.0) save in the
// legacy format, whose member names do not reveal diff ids, so without this
// a rescan would read and re-analyse every layer.
func (d *daemonImage) WalkLayers(ctx context.Context, opts WalkOptions, fn LayerFunc) error {
	if m := d.fromCache(opts); m != nil {
		for _, l := range m.Layers {
			if opts.Skip == nil || !opts.Skip(l) {
				return d.archive.WalkLayers(ctx, opts, fn) // raced with eviction: read it all
			}
		}
		d.meta = m
		return nil
	}
	return d.archive.WalkLayers(ctx, opts, fn)
}

func (d *daemonImage) fromCache(opts WalkOptions) *Metadata {
	if opts.Cached == nil || opts.Config == nil || opts.Skip == nil {
		return nil
	}
	raw := opts.Config(d.preset.ID)
	if raw == nil {
		return nil
	}
	sum := sha256.Sum256(raw)
	if "sha256:"+hex.EncodeToString(sum[:]) != d.preset.ID {
		return nil
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil || len(cf.RootFS.DiffIDs) != len(d.diffIDs) {
		return nil
	}
	m := *d.preset
	m.Config, m.RawConfig = cf, raw
	for i, h := range cf.RootFS.DiffIDs {
		if h.String() != d.diffIDs[i] {
			return nil
		}
		l := LayerInfo{Index: i, Key: h.String(), DiffID: h.String(), Size: -1}
		if !opts.Cached(l) {
			return nil
		}
		m.Layers = append(m.Layers, l)
	}
	return &m
}

func (d *daemonImage) Close() error { return d.cli.Close() }
