package image

import (
	"context"
	"fmt"
	"io"

	"github.com/moby/moby/client"
)

// OpenDaemon opens an image held by the local Docker Engine (DOCKER_HOST and
// friends are honoured). The image is streamed from the Engine's save
// endpoint straight into the walker: no docker save file is written.
func OpenDaemon(ctx context.Context, ref string, opts Options) (Image, error) {
	copts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
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
		cli: cli,
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
	cli *client.Client
}

func (d *daemonImage) Close() error { return d.cli.Close() }
