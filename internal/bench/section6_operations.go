package bench

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Section 6: security operations (sprawl).

// SprawlStopped is how many stopped containers 6.2 tolerates before it
// warns (docker-bench-security's threshold).
const SprawlStopped = 25

func init() {
	register(
		&Check{ID: "6.1", Title: "Ensure that image sprawl is avoided", Level: 1, Scored: false,
			Remediation: "Remove unused images regularly (docker image prune -a) and keep only the tags you run.",
			Run:         checkImageSprawl},
		&Check{ID: "6.2", Title: "Ensure that container sprawl is avoided", Level: 1, Scored: false,
			Remediation: "Remove stopped containers (docker container prune) and run short-lived ones with --rm.",
			Run:         checkContainerSprawl},
	)
}

func checkImageSprawl(ctx context.Context, e *Env) Outcome {
	cli, err := e.client()
	if err != nil {
		return skipErr("cannot ask the daemon", err)
	}
	c, cancel := e.reqCtx(ctx)
	defer cancel()
	imgs, err := cli.ImageList(c, client.ImageListOptions{})
	if err != nil {
		return skipErr("docker daemon unreachable: list images", err)
	}
	if _, err := e.Containers(ctx); err != nil {
		return skipErr("cannot list containers", err)
	}
	used := map[string]bool{}
	for _, s := range e.ctrAll {
		used[s.ImageID] = true
	}
	var unused []Item
	for _, im := range imgs.Items {
		if !used[im.ID] {
			name := im.ID
			if len(im.RepoTags) > 0 {
				name = im.RepoTags[0]
			}
			unused = append(unused, Item{Target: name, Detail: "used by no container"})
		}
	}
	o := info("%d images, %d used by containers, %d unused", len(imgs.Items), len(imgs.Items)-len(unused), len(unused))
	if len(unused) > 100 {
		unused = append(unused[:100], Item{Target: "…", Detail: fmt.Sprintf("%d more unused images", len(unused)-100)})
	}
	return o.withItems(unused)
}

func checkContainerSprawl(ctx context.Context, e *Env) Outcome {
	if _, err := e.Containers(ctx); err != nil {
		return skipErr("cannot list containers", err)
	}
	running := 0
	for _, s := range e.ctrAll {
		if s.State == container.StateRunning {
			running++
		}
	}
	stopped := e.ctrTotal - running
	if stopped > SprawlStopped {
		return warn("%d containers, %d running, %d not running (more than %d)", e.ctrTotal, running, stopped, SprawlStopped).
			withItems([]Item{{Target: "dockerd", Detail: fmt.Sprintf("%d containers not running", stopped)}})
	}
	return info("%d containers, %d running, %d not running", e.ctrTotal, running, stopped)
}
