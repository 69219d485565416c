package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/system"
	"github.com/moby/moby/client"
)

// Env holds the facts checks read. Each fact is gathered once, on first use,
// so a run that selects only section 3 never talks to the daemon.
type Env struct {
	root       string
	dockerHost string
	noDaemon   bool
	cli        *client.Client
	ownCli     bool
	logger     *slog.Logger
	filter     func(name string) bool
	maxImages  int
	timeout    time.Duration
	hostCmds   *bool
	getenv     func(string) string
	// withStopped makes Containers include containers that are not running
	// (tests only: the benchmark looks at running containers).
	withStopped bool

	cliOnce sync.Once
	cliErr  error

	infoOnce sync.Once
	info     system.Info
	infoErr  error

	cfgOnce sync.Once
	cfg     *DaemonConfig

	ctrOnce    sync.Once
	containers []container.InspectResponse
	ctrErr     error
	ctrTotal   int // all containers, running or not
	ctrAll     []container.Summary

	imgOnce sync.Once
	images  []imageFacts
	imgErr  error
	imgNote string

	acctOnce sync.Once
	users    map[int]string
	groups   map[int]string
	members  map[string][]string // group name -> members
	acctErr  error

	auditOnce sync.Once
	audit     auditRules

	mountOnce sync.Once
	mounts    []mountInfo
	mountErr  error
}

// Option configures an Env.
type Option func(*Env)

// WithRoot reads host files below dir instead of "/" (the host's root
// filesystem mounted elsewhere, or a test's temporary tree). /proc is read
// below it too.
func WithRoot(dir string) Option { return func(e *Env) { e.root = dir } }

// WithDockerHost talks to this daemon (DOCKER_HOST syntax) instead of the
// environment's default.
func WithDockerHost(h string) Option { return func(e *Env) { e.dockerHost = h } }

// WithClient uses an existing Docker client; the caller closes it.
func WithClient(c *client.Client) Option { return func(e *Env) { e.cli = c } }

// WithoutDaemon never contacts a daemon: checks that need one SKIP.
func WithoutDaemon() Option { return func(e *Env) { e.noDaemon = true } }

// WithLogger logs progress at debug level.
func WithLogger(l *slog.Logger) Option { return func(e *Env) { e.logger = l } }

// WithContainerFilter limits sections 4-6 to running containers whose name
// (without the leading slash) or id the filter accepts.
func WithContainerFilter(f func(name string) bool) Option { return func(e *Env) { e.filter = f } }

// WithMaxImages bounds how many images section 4 inspects (default 2000).
func WithMaxImages(n int) Option { return func(e *Env) { e.maxImages = n } }

// WithTimeout bounds each daemon request (default 30s).
func WithTimeout(d time.Duration) Option { return func(e *Env) { e.timeout = d } }

// WithHostCommands allows running auditctl -l and systemctl show (only
// meaningful when the root is "/"; on by default there).
func WithHostCommands(on bool) Option {
	return func(e *Env) { e.hostCmds = &on }
}

// WithGetenv replaces os.Getenv for DOCKER_CONTENT_TRUST (check 4.5).
func WithGetenv(f func(string) string) Option { return func(e *Env) { e.getenv = f } }

// NewEnv returns an Env. It does no I/O; facts are gathered on first use.
func NewEnv(opts ...Option) *Env {
	e := &Env{root: "/", maxImages: 2000, timeout: 30 * time.Second, getenv: os.Getenv}
	for _, o := range opts {
		o(e)
	}
	if e.root == "" {
		e.root = "/"
	}
	e.root = filepath.Clean(e.root)
	if e.hostCmds == nil {
		on := e.root == "/"
		e.hostCmds = &on
	}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	return e
}

// Close releases the Docker client if the Env created it.
func (e *Env) Close() error {
	if e.ownCli && e.cli != nil {
		return e.cli.Close()
	}
	return nil
}

// Root returns the root prefix for host files.
func (e *Env) Root() string { return e.root }

// errNoDaemon is returned by client when WithoutDaemon was given.
var errNoDaemon = errors.New("no Docker daemon (disabled)")

func (e *Env) client() (*client.Client, error) {
	e.cliOnce.Do(func() {
		if e.noDaemon {
			e.cliErr = errNoDaemon
			return
		}
		if e.cli != nil {
			return
		}
		opts := []client.Opt{client.FromEnv}
		if e.dockerHost != "" {
			opts = append(opts, client.WithHost(e.dockerHost))
		}
		c, err := client.New(opts...)
		if err != nil {
			e.cliErr = fmt.Errorf("docker client: %w", err)
			return
		}
		e.cli, e.ownCli = c, true
	})
	return e.cli, e.cliErr
}

func (e *Env) reqCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.timeout)
}

// Info returns `docker info`; the error says why the daemon could not be
// asked (checks turn it into SKIP).
func (e *Env) Info(ctx context.Context) (system.Info, error) {
	e.infoOnce.Do(func() {
		cli, err := e.client()
		if err != nil {
			e.infoErr = err
			return
		}
		c, cancel := e.reqCtx(ctx)
		defer cancel()
		r, err := cli.Info(c, client.InfoOptions{})
		if err != nil {
			e.infoErr = fmt.Errorf("docker daemon unreachable: %w", err)
			return
		}
		e.info = r.Info
		e.logger.Debug("bench: docker info", "version", r.Info.ServerVersion, "driver", r.Info.Driver)
	})
	return e.info, e.infoErr
}

// Rootless reports whether the daemon runs rootless (from docker info's
// security options, else from the dockerd command line and its uid).
func (e *Env) Rootless(ctx context.Context) bool {
	if inf, err := e.Info(ctx); err == nil {
		for _, o := range inf.SecurityOptions {
			if securityOptName(o) == "rootless" {
				return true
			}
		}
		return false
	}
	cfg := e.Daemon()
	if cfg.Process != nil && cfg.Process.UID > 0 {
		return true
	}
	v, _ := cfg.Bool("rootless")
	return v
}

// securityOptName returns the name of a docker info security option
// ("name=seccomp,profile=default" -> "seccomp").
func securityOptName(o string) string {
	for _, kv := range strings.Split(o, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && k == "name" {
			return v
		}
	}
	return o
}

// securityOpt returns the key/values of the named security option.
func securityOpt(inf system.Info, name string) (map[string]string, bool) {
	for _, o := range inf.SecurityOptions {
		if securityOptName(o) != name {
			continue
		}
		m := map[string]string{}
		for _, kv := range strings.Split(o, ",") {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		return m, true
	}
	return nil, false
}

// Daemon returns the daemon configuration merged from the dockerd command
// line (found in /proc below the root) and daemon.json.
func (e *Env) Daemon() *DaemonConfig {
	e.cfgOnce.Do(func() {
		e.cfg = loadDaemonConfig(e.root)
	})
	return e.cfg
}

// Containers returns the inspected running containers that pass the filter.
func (e *Env) Containers(ctx context.Context) ([]container.InspectResponse, error) {
	e.ctrOnce.Do(func() {
		cli, err := e.client()
		if err != nil {
			e.ctrErr = err
			return
		}
		c, cancel := e.reqCtx(ctx)
		defer cancel()
		all, err := cli.ContainerList(c, client.ContainerListOptions{All: true})
		if err != nil {
			e.ctrErr = fmt.Errorf("docker daemon unreachable: list containers: %w", err)
			return
		}
		e.ctrAll = all.Items
		e.ctrTotal = len(all.Items)
		for _, s := range all.Items {
			if s.State != container.StateRunning && !e.withStopped {
				continue
			}
			name := ""
			if len(s.Names) > 0 {
				name = strings.TrimPrefix(s.Names[0], "/")
			}
			if e.filter != nil && !e.filter(name) && !e.filter(s.ID) {
				continue
			}
			ic, cancel := e.reqCtx(ctx)
			r, err := cli.ContainerInspect(ic, s.ID, client.ContainerInspectOptions{})
			cancel()
			if err != nil {
				if cerrNotFound(err) {
					continue // exited between list and inspect
				}
				e.ctrErr = fmt.Errorf("inspect container %s: %w", name, err)
				return
			}
			if r.Container.State == nil || (!r.Container.State.Running && !e.withStopped) || r.Container.HostConfig == nil || r.Container.Config == nil {
				continue
			}
			e.containers = append(e.containers, r.Container)
		}
		sort.Slice(e.containers, func(i, j int) bool { return e.containers[i].Name < e.containers[j].Name })
	})
	return e.containers, e.ctrErr
}

func cerrNotFound(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "no such container")
}

// containerName returns the container's name without the leading slash.
func containerName(c container.InspectResponse) string {
	if n := strings.TrimPrefix(c.Name, "/"); n != "" {
		return n
	}
	if len(c.ID) > 12 {
		return c.ID[:12]
	}
	return c.ID
}

func (e *Env) hostInfo(ctx context.Context) HostInfo {
	h := HostInfo{Root: e.root}
	if e.noDaemon {
		h.DaemonError = errNoDaemon.Error()
	} else if inf, err := e.Info(ctx); err == nil {
		h.Hostname, h.DockerVersion = inf.Name, inf.ServerVersion
		h.Rootless = e.Rootless(ctx)
	} else {
		h.DaemonError = err.Error()
	}
	if e.cli != nil {
		h.DockerHost = e.cli.DaemonHost()
	}
	if e.cfg != nil { // only when a check read the configuration
		h.ConfigConflicts = e.cfg.Conflicts
	}
	if h.Hostname == "" {
		if b, err := os.ReadFile(e.path("/etc/hostname")); err == nil {
			h.Hostname = strings.TrimSpace(string(b))
		}
	}
	return h
}

// forContainers runs fn on every running container and assembles the usual
// outcome: WARN with an item per offending container, else PASS. fn returns
// a non-empty detail for an offending container.
func (e *Env) forContainers(ctx context.Context, okText string, fn func(c container.InspectResponse) string) Outcome {
	cs, err := e.Containers(ctx)
	if err != nil {
		return skipErr("cannot list containers", err)
	}
	if len(cs) == 0 {
		return info("no running containers")
	}
	var items []Item
	for _, c := range cs {
		if d := fn(c); d != "" {
			items = append(items, Item{Target: containerName(c), Detail: d})
		}
	}
	if len(items) > 0 {
		return warn("%d of %d running containers", len(items), len(cs)).withItems(items)
	}
	return pass("%d running containers %s", len(cs), okText)
}

func itoa(n int) string { return strconv.Itoa(n) }
