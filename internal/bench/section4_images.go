package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/history"
	"github.com/picket-cdr/picket/internal/finding"
)

// Section 4: images. The image checks reuse the scanner's history analyzer
// (internal/analyzer/history), fed with each image's configuration and
// history from the daemon; its rules carry CIS tags (CIS-4.6, CIS-4.7 ...).

func init() {
	register(
		&Check{ID: "4.1", Title: "Ensure that a user for the container has been created", Level: 1, Scored: true,
			Remediation: "Create a user in the image (USER app) or run the container with --user UID:GID.",
			Run:         checkContainerUser},
		&Check{ID: "4.2", Title: "Ensure that containers use only trusted base images", Level: 1, Scored: false,
			Remediation: "Pull base images only from registries you control or trust, verified by signature (picket guard registry can enforce this).",
			Run:         manual("review where each image's base comes from")},
		&Check{ID: "4.3", Title: "Ensure that unnecessary packages are not installed in the container", Level: 1, Scored: false,
			Remediation: "Build from minimal bases (distroless, scratch); `picket scan image -f cyclonedx` lists what each image holds.",
			Run:         manual("review each image's packages (picket scan image lists them)")},
		&Check{ID: "4.4", Title: "Ensure images are scanned and rebuilt to include security patches", Level: 1, Scored: false,
			Remediation: "Scan images (picket scan image --fail-on high) in CI and rebuild on fixes.",
			Run:         manual("scan images with picket scan image and rebuild those with fixes")},
		&Check{ID: "4.5", Title: "Ensure Content trust for Docker is Enabled", Level: 2, Scored: true,
			Remediation: "export DOCKER_CONTENT_TRUST=1 in the environment of every docker client (or verify signatures in the registry proxy).",
			Run:         checkContentTrust},
		&Check{ID: "4.6", Title: "Ensure that HEALTHCHECK instructions have been added to container images", Level: 1, Scored: true,
			Remediation: "Add a HEALTHCHECK instruction to the Dockerfile.",
			Run:         historyRule("PKT-IMG-NO-HEALTHCHECK", Warn, "have a HEALTHCHECK")},
		&Check{ID: "4.7", Title: "Ensure update instructions are not used alone in Dockerfiles", Level: 1, Scored: false,
			Remediation: "Run package index updates and installs in the same RUN instruction.",
			Run:         historyRule("PKT-IMG-UPDATE-ALONE", Info, "run no update instruction alone")},
		&Check{ID: "4.8", Title: "Ensure setuid and setgid permissions are removed", Level: 2, Scored: false,
			Remediation: "Remove setuid/setgid bits in the Dockerfile (RUN find / -perm /6000 -type f -exec chmod a-s {} +); picket scan image reports them.",
			Run:         manual("setuid/setgid files are in image layers; `picket scan image` reports them (PKT-FS-SETUID)")},
		&Check{ID: "4.9", Title: "Ensure that COPY is used instead of ADD in Dockerfiles", Level: 1, Scored: false,
			Remediation: "Use COPY for local files; fetch remote files with a verified download.",
			Run:         historyRule("PKT-IMG-ADD,PKT-IMG-ADD-REMOTE", Info, "use no ADD instruction")},
		&Check{ID: "4.10", Title: "Ensure secrets are not stored in Dockerfiles", Level: 1, Scored: false,
			Remediation: "Pass secrets at build time with BuildKit secret mounts, at run time with secrets; rotate any that leaked.",
			Run:         historyRule("PKT-IMG-SECRET-ENV,PKT-IMG-SECRET-LABEL,PKT-IMG-SECRET-HISTORY", Warn, "show no secret in their configuration or history")},
		&Check{ID: "4.11", Title: "Ensure only verified packages are installed", Level: 2, Scored: false,
			Remediation: "Install packages only from signed repositories and verify downloads.",
			Run:         manual("review how each image's packages were obtained")},
		&Check{ID: "4.12", Title: "Ensure all signed artifacts are validated", Level: 2, Scored: false,
			Remediation: "Verify image signatures before running them (cosign, notation, picket guard registry).",
			Run:         manual("review that image signatures are verified before use")},
	)
}

func manual(what string) func(context.Context, *Env) Outcome {
	return func(context.Context, *Env) Outcome { return note("manual: %s", what) }
}

// imageFacts is one image as section 4 sees it.
type imageFacts struct {
	ID       string
	Name     string
	Findings []*finding.Finding
	Err      error
}

// Images inspects the images (those of the selected containers when a
// container filter is set, else all of them, at most maxImages) and runs
// the history analyzer on each.
func (e *Env) Images(ctx context.Context) ([]imageFacts, string, error) {
	e.imgOnce.Do(func() {
		cli, err := e.client()
		if err != nil {
			e.imgErr = err
			return
		}
		_, lints, err := analyzer.Select([]string{history.Name}, nil)
		if err != nil || len(lints) != 1 {
			e.imgErr = fmt.Errorf("history analyzer unavailable: %v", err)
			return
		}
		lint := lints[0]
		type ref struct{ id, name string }
		var refs []ref
		if e.filter != nil {
			cs, err := e.Containers(ctx)
			if err != nil {
				e.imgErr = err
				return
			}
			seen := map[string]bool{}
			for _, c := range cs {
				if !seen[c.Image] {
					seen[c.Image] = true
					refs = append(refs, ref{c.Image, c.Config.Image})
				}
			}
		} else {
			c, cancel := e.reqCtx(ctx)
			list, err := cli.ImageList(c, client.ImageListOptions{})
			cancel()
			if err != nil {
				e.imgErr = fmt.Errorf("docker daemon unreachable: list images: %w", err)
				return
			}
			for _, s := range list.Items {
				name := s.ID
				if len(s.RepoTags) > 0 && s.RepoTags[0] != "<none>:<none>" {
					name = s.RepoTags[0]
				}
				refs = append(refs, ref{s.ID, name})
			}
		}
		if len(refs) > e.maxImages {
			e.imgNote = fmt.Sprintf("; only the first %d of %d images were checked (--max-images)", e.maxImages, len(refs))
			refs = refs[:e.maxImages]
		}
		for _, r := range refs {
			f := imageFacts{ID: r.id, Name: r.name}
			cfg, err := e.imageConfig(ctx, cli, r.id)
			if err != nil {
				f.Err = err
			} else {
				in := &analyzer.ImageInput{Name: r.name, Config: cfg}
				f.Findings, f.Err = lint.AnalyzeImage(ctx, in)
			}
			e.images = append(e.images, f)
		}
	})
	return e.images, e.imgNote, e.imgErr
}

// imageConfig rebuilds an image's configuration and history, as the history
// analyzer reads them, from the daemon's inspect and history answers.
func (e *Env) imageConfig(ctx context.Context, cli *client.Client, id string) (*v1.ConfigFile, error) {
	c, cancel := e.reqCtx(ctx)
	defer cancel()
	insp, err := cli.ImageInspect(c, id)
	if err != nil {
		return nil, fmt.Errorf("inspect image: %w", err)
	}
	hist, err := cli.ImageHistory(c, id)
	if err != nil {
		return nil, fmt.Errorf("image history: %w", err)
	}
	cf := &v1.ConfigFile{Architecture: insp.Architecture, OS: insp.Os}
	if ic := insp.Config; ic != nil {
		cf.Config = v1.Config{
			User: ic.User, Env: ic.Env, Entrypoint: ic.Entrypoint, Cmd: ic.Cmd,
			WorkingDir: ic.WorkingDir, Labels: ic.Labels, StopSignal: ic.StopSignal,
			Volumes: ic.Volumes, ExposedPorts: ic.ExposedPorts,
		}
		if hc := ic.Healthcheck; hc != nil {
			cf.Config.Healthcheck = &v1.HealthConfig{Test: hc.Test, Interval: hc.Interval, Timeout: hc.Timeout, StartPeriod: hc.StartPeriod, Retries: hc.Retries}
		}
	}
	// The daemon lists history newest first; an entry of size 0 adds no
	// layer.
	items := hist.Items
	for i := len(items) - 1; i >= 0; i-- {
		h := items[i]
		cf.History = append(cf.History, v1.History{
			Created: v1.Time{Time: time.Unix(h.Created, 0)}, CreatedBy: h.CreatedBy, Comment: h.Comment,
			EmptyLayer: h.Size == 0,
		})
	}
	return cf, nil
}

// historyRule reports the images on which any of the named history rules
// fired; bad is the result when some did.
func historyRule(ids string, bad Result, okText string) func(context.Context, *Env) Outcome {
	rules := strings.Split(ids, ",")
	return func(ctx context.Context, e *Env) Outcome {
		imgs, trunc, err := e.Images(ctx)
		if err != nil {
			return skipErr("cannot inspect images", err)
		}
		if len(imgs) == 0 {
			return info("no images")
		}
		var items []Item
		var errs []string
		for _, im := range imgs {
			if im.Err != nil {
				errs = append(errs, im.Name+": "+im.Err.Error())
				continue
			}
			for _, f := range im.Findings {
				if slices.Contains(rules, f.RuleID) {
					d := f.Title
					if f.Evidence != "" {
						d += ": " + f.Evidence
					}
					items = append(items, Item{Target: im.Name, Detail: d})
				}
			}
		}
		checked := len(imgs) - len(errs)
		switch {
		case len(items) > 0:
			return Outcome{Result: bad, Details: fmt.Sprintf("%d findings in %d images checked%s", len(items), checked, trunc), Items: items}
		case len(errs) > 0:
			return skip("could not inspect %d images: %s", len(errs), strings.Join(errs, "; "))
		}
		if bad == Warn && strings.Contains(ids, "SECRET") {
			// Absence of detected secrets is no proof: say what was looked at.
			return info("%d images %s%s (Dockerfiles themselves are not on the host)", checked, okText, trunc)
		}
		return pass("%d images %s%s", checked, okText, trunc)
	}
}

func checkContainerUser(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "run as a non-root user", func(c container.InspectResponse) string {
		switch u := strings.TrimSpace(c.Config.User); u {
		case "", "root", "0", "0:0", "root:root", "root:0", "0:root":
			if u == "" {
				return "runs as root (no USER in the image, no --user)"
			}
			return "runs as " + u
		}
		return ""
	})
}

func checkContentTrust(_ context.Context, e *Env) Outcome {
	v := e.getenv("DOCKER_CONTENT_TRUST")
	if v == "1" || strings.EqualFold(v, "true") {
		return pass("DOCKER_CONTENT_TRUST=%s in this environment", v)
	}
	d := "DOCKER_CONTENT_TRUST is not set in this environment"
	if v != "" {
		d = "DOCKER_CONTENT_TRUST=" + v
	}
	return warn("%s: docker pull and run accept unsigned images", d).withItems([]Item{{Target: "environment", Detail: d}})
}
