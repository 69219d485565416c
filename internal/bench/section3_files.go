package bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Section 3: ownership and permissions of the daemon's files.

// fileSpec is one section 3 check: the files it looks at and what they
// must be.
type fileSpec struct {
	id, title, remediation string
	locate                 func(ctx context.Context, e *Env) ([]string, *Outcome)
	owner                  string      // "root:root" or "root:docker"; "" for a mode check
	maxMode                fs.FileMode // permission bits allowed, for a mode check
	socket                 bool        // a socket of the daemon: SKIP on rootless daemons
}

func one(p string) func(context.Context, *Env) ([]string, *Outcome) {
	return func(context.Context, *Env) ([]string, *Outcome) { return []string{p}, nil }
}

func unitPaths(name string) func(context.Context, *Env) ([]string, *Outcome) {
	return func(ctx context.Context, e *Env) ([]string, *Outcome) {
		p := e.unitFile(ctx, name)
		if p == "" {
			o := info("%s not found in %s", name, strings.Join(unitDirs, ", "))
			return nil, &o
		}
		return []string{p}, nil
	}
}

func daemonJSON(_ context.Context, e *Env) ([]string, *Outcome) {
	return []string{e.Daemon().File}, nil
}

// tlsFile locates a TLS file named in the daemon configuration.
func tlsFile(key, what string) func(context.Context, *Env) ([]string, *Outcome) {
	return func(_ context.Context, e *Env) ([]string, *Outcome) {
		d := e.Daemon()
		if o, ok := configKnown(d); !ok {
			return nil, &o
		}
		p, ok := d.Get(key)
		if !ok || p == "" {
			o := info("no %s configured (%s not set)", what, key)
			return nil, &o
		}
		return []string{p}, nil
	}
}

// dockerSocket locates the daemon's unix socket(s).
func dockerSocket(_ context.Context, e *Env) ([]string, *Outcome) {
	var out []string
	for _, h := range e.Daemon().All("hosts") {
		if p, ok := strings.CutPrefix(h, "unix://"); ok && p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		out = []string{"/var/run/docker.sock"}
	}
	return out, nil
}

// containerdSocket finds containerd's socket: the system containerd's, or
// the one dockerd starts for itself.
func containerdSocket(_ context.Context, e *Env) ([]string, *Outcome) {
	cands := []string{"/run/containerd/containerd.sock", "/var/run/docker/containerd/containerd.sock"}
	if v, ok := e.Daemon().Get("containerd"); ok && v != "" {
		cands = append([]string{v}, cands...)
	}
	for _, c := range cands {
		if _, err := os.Lstat(e.path(c)); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return []string{c}, nil
		}
	}
	return cands[:1], nil
}

// registryCerts lists the files below /etc/docker/certs.d.
func registryCerts(_ context.Context, e *Env) ([]string, *Outcome) {
	const dir = "/etc/docker/certs.d"
	// Follow a symlinked certs.d (inside the root) to walk what it names.
	full, err := resolveIn(e.root, dir+"/_")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			o := info("%s not found: no registry certificates", dir)
			return nil, &o
		}
		o := skipErr("cannot read "+dir, err)
		return nil, &o
	}
	base := filepath.Dir(full)
	var out []string
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if len(out) > 10000 {
			return fmt.Errorf("more than 10000 entries")
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(base, p)
			out = append(out, path.Join(dir, filepath.ToSlash(rel)))
		}
		return nil
	})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		o := info("%s not found: no registry certificates", dir)
		return nil, &o
	case err != nil:
		o := skipErr("cannot read "+dir, err)
		return nil, &o
	case len(out) == 0:
		o := info("%s holds no files", dir)
		return nil, &o
	}
	return out, nil
}

var fileSpecs = []fileSpec{
	{id: "3.1", title: "Ensure that the docker.service file ownership is set to root:root", locate: unitPaths("docker.service"), owner: "root:root"},
	{id: "3.2", title: "Ensure that docker.service file permissions are appropriately set", locate: unitPaths("docker.service"), maxMode: 0o644},
	{id: "3.3", title: "Ensure that docker.socket file ownership is set to root:root", locate: unitPaths("docker.socket"), owner: "root:root"},
	{id: "3.4", title: "Ensure that docker.socket file permissions are set to 644 or more restrictive", locate: unitPaths("docker.socket"), maxMode: 0o644},
	{id: "3.5", title: "Ensure that the /etc/docker directory ownership is set to root:root", locate: one("/etc/docker"), owner: "root:root"},
	{id: "3.6", title: "Ensure that /etc/docker directory permissions are set to 755 or more restrictively", locate: one("/etc/docker"), maxMode: 0o755},
	{id: "3.7", title: "Ensure that registry certificate file ownership is set to root:root", locate: registryCerts, owner: "root:root"},
	{id: "3.8", title: "Ensure that registry certificate file permissions are set to 444 or more restrictively", locate: registryCerts, maxMode: 0o444},
	{id: "3.9", title: "Ensure that TLS CA certificate file ownership is set to root:root", locate: tlsFile("tlscacert", "TLS CA certificate"), owner: "root:root"},
	{id: "3.10", title: "Ensure that TLS CA certificate file permissions are set to 444 or more restrictively", locate: tlsFile("tlscacert", "TLS CA certificate"), maxMode: 0o444},
	{id: "3.11", title: "Ensure that Docker server certificate file ownership is set to root:root", locate: tlsFile("tlscert", "server certificate"), owner: "root:root"},
	{id: "3.12", title: "Ensure that the Docker server certificate file permissions are set to 444 or more restrictively", locate: tlsFile("tlscert", "server certificate"), maxMode: 0o444},
	{id: "3.13", title: "Ensure that the Docker server certificate key file ownership is set to root:root", locate: tlsFile("tlskey", "server key"), owner: "root:root"},
	{id: "3.14", title: "Ensure that the Docker server certificate key file permissions are set to 400", locate: tlsFile("tlskey", "server key"), maxMode: 0o400},
	{id: "3.15", title: "Ensure that the Docker socket file ownership is set to root:docker", locate: dockerSocket, owner: "root:docker", socket: true},
	{id: "3.16", title: "Ensure that the Docker socket file permissions are set to 660 or more restrictively", locate: dockerSocket, maxMode: 0o660, socket: true},
	{id: "3.17", title: "Ensure that the daemon.json file ownership is set to root:root", locate: daemonJSON, owner: "root:root"},
	{id: "3.18", title: "Ensure that daemon.json file permissions are set to 644 or more restrictive", locate: daemonJSON, maxMode: 0o644},
	{id: "3.19", title: "Ensure that the /etc/default/docker file ownership is set to root:root", locate: one("/etc/default/docker"), owner: "root:root"},
	{id: "3.20", title: "Ensure that the /etc/sysconfig/docker file permissions are set to 644 or more restrictively", locate: one("/etc/sysconfig/docker"), maxMode: 0o644},
	{id: "3.21", title: "Ensure that the /etc/sysconfig/docker file ownership is set to root:root", locate: one("/etc/sysconfig/docker"), owner: "root:root"},
	{id: "3.22", title: "Ensure that the /etc/default/docker file permissions are set to 644 or more restrictively", locate: one("/etc/default/docker"), maxMode: 0o644},
	{id: "3.23", title: "Ensure that the Containerd socket file ownership is set to root:root", locate: containerdSocket, owner: "root:root", socket: true},
	{id: "3.24", title: "Ensure that the Containerd socket file permissions are set to 660 or more restrictively", locate: containerdSocket, maxMode: 0o660, socket: true},
}

func init() {
	for _, s := range fileSpecs {
		s := s
		rem := s.remediation
		if rem == "" {
			if s.owner != "" {
				rem = "chown " + s.owner + " on the file named in the details."
			} else {
				rem = fmt.Sprintf("chmod %o on the file named in the details (or more restrictive).", uint32(s.maxMode))
			}
		}
		level := 1
		switch s.id {
		case "3.19", "3.20", "3.21", "3.22":
			level = 2
		}
		register(&Check{ID: s.id, Title: s.title, Level: level, Scored: true, Remediation: rem,
			Run: func(ctx context.Context, e *Env) Outcome { return checkFiles(ctx, e, s) }})
	}
}

func checkFiles(ctx context.Context, e *Env, s fileSpec) Outcome {
	if s.socket && e.Rootless(ctx) {
		return skip("rootless daemon: its sockets live in the user's runtime directory and belong to that user, which the benchmark's root ownership does not apply to")
	}
	paths, o := s.locate(ctx, e)
	if o != nil {
		return *o
	}
	var items, missing []Item
	var skipped []string
	checked := 0
	wantGID := 0
	if s.owner == "root:docker" {
		group := "docker"
		if g, ok := e.Daemon().Get("group"); ok && g != "" {
			group = g
		}
		gid, ok := e.groupID(group)
		if !ok {
			return skip("group %q not found in %s", group, joinRoot(e.root, "/etc/group"))
		}
		wantGID = gid
	}
	for _, p := range paths {
		m, err := e.stat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				missing = append(missing, Item{Target: p, Detail: "not found"})
				continue
			}
			skipped = append(skipped, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		checked++
		if s.owner != "" {
			if m.UID != 0 || m.GID != wantGID {
				items = append(items, Item{Target: p, Detail: fmt.Sprintf("owned by %s, want %s", e.ownerString(m.UID, m.GID), s.owner)})
			}
			continue
		}
		extra := uint32(m.Mode.Perm()) &^ uint32(s.maxMode)
		if extra != 0 || specialBits(m.Mode) != 0 {
			items = append(items, Item{Target: p, Detail: fmt.Sprintf("mode %s, want %04o or more restrictive", fmtMode(m.Mode), uint32(s.maxMode))})
		}
	}
	switch {
	case len(items) > 0:
		return warn("%d of %d files", len(items), checked).withItems(items)
	case len(skipped) > 0:
		return skip("cannot stat %s", strings.Join(skipped, "; "))
	case checked == 0:
		return info("%s not found", paths[0]).withItems(missing)
	}
	if s.owner != "" {
		return pass("%s owned by %s", strings.Join(paths, ", "), s.owner)
	}
	return pass("%s mode %04o or more restrictive", strings.Join(paths, ", "), uint32(s.maxMode))
}
