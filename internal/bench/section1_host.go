package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Section 1: host configuration.

func init() {
	register(
		&Check{ID: "1.1.1", Title: "Ensure a separate partition for containers has been created", Level: 1, Scored: true,
			Remediation: "For new installations, create a separate partition for the Docker data root (default /var/lib/docker); for existing ones, use LVM to create and mount one.",
			Run:         checkPartition},
		&Check{ID: "1.1.2", Title: "Ensure only trusted users are allowed to control Docker daemon", Level: 1, Scored: true,
			Remediation: "Remove untrusted users from the docker group (gpasswd -d USER docker); membership is equivalent to root on the host.",
			Run:         checkDockerGroup},
		&Check{ID: "1.2.1", Title: "Ensure the container host has been Hardened", Level: 1, Scored: false,
			Remediation: "Harden the host following the CIS benchmark of its operating system; run only what the container platform needs.",
			Run: func(context.Context, *Env) Outcome {
				return note("review the host's hardening against its OS benchmark (not checkable automatically)")
			}},
		&Check{ID: "1.2.2", Title: "Ensure that the version of Docker is up to date", Level: 1, Scored: false,
			Remediation: "Track Docker releases and keep the Engine, containerd and runc patched.",
			Run:         checkDockerVersion},
	)
	for i, a := range auditTargets {
		a := a
		level := 1
		if i >= 4 {
			level = 2
		}
		register(&Check{ID: a.id, Title: "Ensure auditing is configured for " + a.title, Level: level, Scored: true,
			Remediation: "Add a rule to the audit rules (e.g. /etc/audit/rules.d/docker.rules: -w " + a.example + " -k docker) and reload auditd (augenrules --load).",
			Run:         func(ctx context.Context, e *Env) Outcome { return checkAudit(ctx, e, a) }})
	}
}

// auditTarget is one file or directory section 1.1 wants audited.
type auditTarget struct {
	id, title, example string
	locate             func(ctx context.Context, e *Env) string // host path, "" when absent
}

func fixed(p string) func(context.Context, *Env) string {
	return func(context.Context, *Env) string { return p }
}

func binary(name string) func(context.Context, *Env) string {
	return func(_ context.Context, e *Env) string { return e.findBinary(name) }
}

func unit(name string) func(context.Context, *Env) string {
	return func(ctx context.Context, e *Env) string { return e.unitFile(ctx, name) }
}

var auditTargets = []auditTarget{
	{"1.1.3", "the Docker daemon", "/usr/bin/dockerd", binary("dockerd")},
	{"1.1.4", "Docker files and directories - /run/containerd", "/run/containerd", fixed("/run/containerd")},
	{"1.1.5", "Docker files and directories - /var/lib/docker", "/var/lib/docker", func(ctx context.Context, e *Env) string { return e.dataRoot(ctx) }},
	{"1.1.6", "Docker files and directories - /etc/docker", "/etc/docker", fixed("/etc/docker")},
	{"1.1.7", "Docker files and directories - docker.service", "/lib/systemd/system/docker.service", unit("docker.service")},
	{"1.1.8", "Docker files and directories - containerd.sock", "/run/containerd/containerd.sock", func(ctx context.Context, e *Env) string { p, _ := containerdSocket(ctx, e); return p[0] }},
	{"1.1.9", "Docker files and directories - docker.socket", "/lib/systemd/system/docker.socket", unit("docker.socket")},
	{"1.1.10", "Docker files and directories - /etc/default/docker", "/etc/default/docker", fixed("/etc/default/docker")},
	{"1.1.11", "Docker files and directories - /etc/docker/daemon.json", "/etc/docker/daemon.json", func(_ context.Context, e *Env) string { return e.Daemon().File }},
	{"1.1.12", "Docker files and directories - /etc/containerd/config.toml", "/etc/containerd/config.toml", fixed("/etc/containerd/config.toml")},
	{"1.1.13", "Docker files and directories - /etc/sysconfig/docker", "/etc/sysconfig/docker", fixed("/etc/sysconfig/docker")},
	{"1.1.14", "Docker files and directories - /usr/bin/containerd", "/usr/bin/containerd", binary("containerd")},
	{"1.1.15", "Docker files and directories - /usr/bin/containerd-shim", "/usr/bin/containerd-shim", binary("containerd-shim")},
	{"1.1.16", "Docker files and directories - /usr/bin/containerd-shim-runc-v1", "/usr/bin/containerd-shim-runc-v1", binary("containerd-shim-runc-v1")},
	{"1.1.17", "Docker files and directories - /usr/bin/containerd-shim-runc-v2", "/usr/bin/containerd-shim-runc-v2", binary("containerd-shim-runc-v2")},
	{"1.1.18", "Docker files and directories - /usr/bin/runc", "/usr/bin/runc", binary("runc")},
}

// dataRoot returns the daemon's data root: docker info, else the
// configuration, else the default.
func (e *Env) dataRoot(ctx context.Context) string {
	if inf, err := e.Info(ctx); err == nil && inf.DockerRootDir != "" {
		return inf.DockerRootDir
	}
	if v, ok := e.Daemon().Get("data-root"); ok && v != "" {
		return v
	}
	return "/var/lib/docker"
}

func checkPartition(ctx context.Context, e *Env) Outcome {
	dir := e.dataRoot(ctx)
	if _, err := os.Stat(e.path(dir)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return info("data root %s not found", dir)
		}
		return skipErr("cannot stat data root "+dir, err)
	}
	mounts, err := e.mountTable()
	if err != nil {
		return skipErr("cannot read the mount table", err)
	}
	var at, root *mountInfo
	for i := range mounts {
		m := &mounts[i]
		if m.MountPoint == "/" {
			root = m
		}
		if m.MountPoint == path.Clean(dir) {
			at = m // the last one mounted wins
		}
	}
	if at == nil {
		return warn("%s is not a mount point: it shares the filesystem of its parent", dir).withItems([]Item{{Target: dir, Detail: "not a mount point"}})
	}
	if root != nil && at.Device == root.Device {
		return warn("%s is a bind mount of %s (device %s), the same filesystem as /, not a separate partition", dir, at.Root, at.Device).
			withItems([]Item{{Target: dir, Detail: "bind mount of the root filesystem " + at.Source + ":" + at.Root}})
	}
	return pass("%s is mounted from %s (%s, device %s)", dir, at.Source, at.FSType, at.Device)
}

func checkDockerGroup(ctx context.Context, e *Env) Outcome {
	if err := e.accounts(); err != nil {
		return skipErr("cannot read account files", err)
	}
	group := "docker"
	if g, ok := e.Daemon().Get("group"); ok && g != "" {
		group = g
	}
	members, ok := e.members[group]
	if !ok {
		return info("no %q group: only root can use the Docker socket", group)
	}
	if len(members) == 0 {
		return info("group %q has no members", group)
	}
	var items []Item
	for _, m := range members {
		items = append(items, Item{Target: m, Detail: "member of group " + group + " (root-equivalent)"})
	}
	return info("group %q has %d members; confirm each is trusted: %s", group, len(members), strings.Join(members, ", ")).withItems(items)
}

func checkDockerVersion(ctx context.Context, e *Env) Outcome {
	inf, err := e.Info(ctx)
	if err != nil {
		return skipErr("cannot ask the daemon", err)
	}
	return info("Docker Engine %s (containerd %s, runc %s): compare with the current release", inf.ServerVersion, inf.ContainerdCommit.ID, inf.RuncCommit.ID)
}

// auditRules are the paths watched by the Linux audit rules.
type auditRules struct {
	paths   map[string]string // watched path -> where the rule was found
	sources []string
	errs    []string
}

// loadAudit reads the audit rules files below the root and, on the real
// host, the rules loaded in the kernel (auditctl -l).
func (e *Env) loadAudit(ctx context.Context) auditRules {
	e.auditOnce.Do(func() {
		a := auditRules{paths: map[string]string{}}
		files := []string{"/etc/audit/audit.rules"}
		if ents, err := os.ReadDir(e.path("/etc/audit/rules.d")); err == nil {
			for _, ent := range ents {
				if strings.HasSuffix(ent.Name(), ".rules") {
					files = append(files, "/etc/audit/rules.d/"+ent.Name())
				}
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			a.errs = append(a.errs, "/etc/audit/rules.d: "+err.Error())
		}
		for _, f := range files {
			b, err := readFileIn(e.root, f, 16<<20)
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					a.errs = append(a.errs, f+": "+err.Error())
				}
				continue
			}
			a.sources = append(a.sources, f)
			for p := range ParseAuditRules(string(b)) {
				if _, ok := a.paths[p]; !ok {
					a.paths[p] = f
				}
			}
		}
		if *e.hostCmds {
			if bin, err := exec.LookPath("auditctl"); err == nil {
				c, cancel := context.WithTimeout(ctx, 5*time.Second)
				out, err := exec.CommandContext(c, bin, "-l").Output()
				cancel()
				if err != nil {
					a.errs = append(a.errs, "auditctl -l: "+err.Error())
				} else {
					a.sources = append(a.sources, "auditctl -l")
					for p := range ParseAuditRules(string(out)) {
						if _, ok := a.paths[p]; !ok {
							a.paths[p] = "auditctl -l"
						}
					}
				}
			}
		}
		e.audit = a
	})
	return e.audit
}

// ParseAuditRules returns the paths audit rules watch: "-w PATH" watches
// and "-F path=PATH" / "-F dir=PATH" syscall rule fields.
func ParseAuditRules(text string) map[string]bool {
	out := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		for i := 0; i < len(f); i++ {
			switch {
			case f[i] == "-w" && i+1 < len(f):
				if strings.HasPrefix(f[i+1], "/") {
					out[path.Clean(f[i+1])] = true
				}
				i++
			case strings.HasPrefix(f[i], "-w") && len(f[i]) > 2 && strings.HasPrefix(f[i][2:], "/"):
				out[path.Clean(f[i][2:])] = true
			case f[i] == "-F" && i+1 < len(f):
				k, v, ok := strings.Cut(f[i+1], "=")
				if ok && (k == "path" || k == "dir") && strings.HasPrefix(v, "/") {
					out[path.Clean(v)] = true
				}
				i++
			}
		}
	}
	return out
}

// watchedBy returns the rule source covering p: an exact watch, or a
// directory watch above it (directory watches are recursive).
func (a auditRules) watchedBy(p string) (string, string, bool) {
	p = path.Clean(p)
	for q := p; ; q = path.Dir(q) {
		if src, ok := a.paths[q]; ok {
			return q, src, true
		}
		if q == "/" {
			return "", "", false
		}
	}
}

func checkAudit(ctx context.Context, e *Env, t auditTarget) Outcome {
	p := t.locate(ctx, e)
	if p == "" {
		return info("%s not found on this host", t.example)
	}
	if _, err := os.Lstat(e.path(p)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return info("%s not found on this host", p)
		}
		return skipErr("cannot stat "+p, err)
	}
	a := e.loadAudit(ctx)
	if w, src, ok := a.watchedBy(p); ok {
		if w == p {
			return pass("%s is audited (%s)", p, src)
		}
		return pass("%s is audited through the watch on %s (%s)", p, w, src)
	}
	if len(a.errs) > 0 {
		return skip("no audit rule found for %s, but some rules could not be read: %s", p, strings.Join(a.errs, "; "))
	}
	if len(a.sources) == 0 {
		return warn("no audit rules on this host (no %s, no rules.d, no auditctl): %s is not audited", filepath.Join("/etc/audit", "audit.rules"), p).
			withItems([]Item{{Target: p, Detail: "not audited"}})
	}
	srcs := append([]string(nil), a.sources...)
	sort.Strings(srcs)
	return warn("no audit rule for %s in %s", p, strings.Join(srcs, ", ")).withItems([]Item{{Target: p, Detail: "not audited"}})
}

// fmtMode renders a permission mode as octal.
func fmtMode(m fs.FileMode) string { return fmt.Sprintf("%04o", uint32(m.Perm())|specialBits(m)) }

func specialBits(m fs.FileMode) uint32 {
	var b uint32
	if m&fs.ModeSetuid != 0 {
		b |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		b |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		b |= 0o1000
	}
	return b
}
