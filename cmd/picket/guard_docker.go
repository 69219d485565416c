package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/picket-cdr/picket/internal/audit"
	"github.com/picket-cdr/picket/internal/guard/docker"
	"github.com/picket-cdr/picket/internal/policy"
)

func init() { registerGuardCommand(newGuardDockerCmd) }

type guardDockerFlags struct {
	listen        []string
	upstream      string
	socketMode    string
	socketGroup   string
	tlsCert       string
	tlsKey        string
	tlsClientCA   string
	accessFile    string
	policies      []string
	noDefault     bool
	maxBody       int64
	auditLog      string
	auditSync     string
	syslog        string
	metricsListen string
	authzSocket   string
	anonymous     string
	scanResults   string
	check         bool
	printDefault  bool
}

func newGuardDockerCmd(g *globalFlags) *cobra.Command {
	f := &guardDockerFlags{}
	cmd := &cobra.Command{
		Use:   "docker",
		Short: "Policy proxy and AuthZ plugin in front of the Docker Engine API",
		Long: `Serve the Docker Engine API on a unix socket and/or TCP with TLS, check every
request and forward the allowed ones to the real daemon.

Callers are identified by unix peer uid, TLS client certificate CN (with
--tls-client-ca) or bearer token (configured in --access). The access file
maps identities to groups and holds the endpoint ACL; the policy (the
built-in default plus --policy files, YAML with CEL conditions) reads the
bodies of container create, exec, pull, build, service, plugin and volume
requests. Refusals are Docker JSON errors the CLI prints. Every request is
audited to --audit-log (hash-chained; check it with picket audit verify).

With --authz-plugin the same engine also answers dockerd's AuthZ plugin
protocol on that socket (dockerd --authorization-plugin=NAME, socket at
/run/docker/plugins/NAME.sock).

SIGHUP reloads the policy files and the access file (a bad file is logged
and the running ones are kept); SIGINT/SIGTERM shut down cleanly.

Exit codes: 0 clean shutdown (or --check passed), 2 error.`,
		Example: `  # local socket for the team, audit to a file
  picket guard docker --listen unix:///run/picket/docker.sock --socket-group docker \
    --access /etc/picket/docker-access.yaml --audit-log /var/log/picket/docker-audit.log

  # remote access with mutual TLS, metrics on loopback
  picket guard docker --listen tcp://0.0.0.0:2376 --tls-cert server.pem --tls-key server-key.pem \
    --tls-client-ca ca.pem --metrics-listen 127.0.0.1:9323

  DOCKER_HOST=unix:///run/picket/docker.sock docker ps

  # validate the configuration and policies, print the default policy
  picket guard docker --check --policy /etc/picket/docker-policy.d
  picket guard docker --print-default-policy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGuardDocker(cmd.Context(), g, f, cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.listen, "listen", []string{"unix:///run/picket/docker.sock"}, "where to serve: unix:///path or tcp://host:port (repeatable)")
	fl.StringVar(&f.upstream, "upstream", "unix:///var/run/docker.sock", "the real daemon: unix:///path or tcp://host:port")
	fl.StringVar(&f.socketMode, "socket-mode", "0660", "permissions of unix sockets")
	fl.StringVar(&f.socketGroup, "socket-group", "", "group of unix sockets (name or gid)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "server certificate (PEM) for tcp:// listeners")
	fl.StringVar(&f.tlsKey, "tls-key", "", "server key (PEM)")
	fl.StringVar(&f.tlsClientCA, "tls-client-ca", "", "CA bundle that signs client certificates (mTLS)")
	fl.StringVar(&f.accessFile, "access", "", "access file: users, groups, bearer token digests, endpoint ACL (YAML)")
	fl.StringSliceVar(&f.policies, "policy", nil, "policy files or directories (YAML + CEL), after the built-in default (repeatable)")
	fl.BoolVar(&f.noDefault, "no-default-policy", false, "do not load the built-in default policy")
	fl.Int64Var(&f.maxBody, "max-body", docker.DefaultMaxBody, "largest guarded request body in bytes; larger ones are refused")
	fl.StringVar(&f.auditLog, "audit-log", "", "append one hash-chained JSON line per request to this file")
	fl.StringVar(&f.auditSync, "audit-sync", "each", "audit fsync policy: each (before the response completes), none, or a duration (e.g. 1s)")
	fl.StringVar(&f.syslog, "syslog", "", "also send audit lines to syslog: local, or udp://host:514, tcp://host:514")
	fl.StringVar(&f.metricsListen, "metrics-listen", "", "serve Prometheus /metrics on this host:port")
	fl.StringVar(&f.authzSocket, "authz-plugin", "", "also serve the Docker AuthZ plugin protocol on this unix socket path")
	fl.StringVar(&f.anonymous, "authz-anonymous", "anonymous", "identity for AuthZ plugin requests without a user")
	fl.StringVar(&f.scanResults, "scan-results", "", "directory of picket scan image --format json reports named <image id>.json; enables the image-scan rule")
	fl.BoolVar(&f.check, "check", false, "load and validate the access file and policies, then exit")
	fl.BoolVar(&f.printDefault, "print-default-policy", false, "print the built-in default policy and exit")
	return cmd
}

func runGuardDocker(ctx context.Context, g *globalFlags, f *guardDockerFlags, cmd *cobra.Command) error {
	if f.printDefault {
		_, err := cmd.OutOrStdout().Write(docker.DefaultPolicy())
		return err
	}
	docs, err := policy.ParsePaths(f.policies...)
	if err != nil {
		return err
	}
	pol, err := docker.LoadPolicy(!f.noDefault, docs...)
	if err != nil {
		return err
	}
	access := &docker.Access{}
	if f.accessFile != "" {
		if access, err = docker.LoadAccess(f.accessFile); err != nil {
			return err
		}
	} else if a, err := docker.ParseAccess("(none)", nil); err == nil {
		access = a
	}
	if f.maxBody <= 0 {
		return errors.New("--max-body must be positive")
	}
	var scans *docker.ScanStore
	if f.scanResults != "" {
		if scans, err = docker.NewScanStore(f.scanResults); err != nil {
			return err
		}
	}
	if f.check {
		fmt.Fprintf(cmd.OutOrStdout(), "ok: %d policy rules, access file %s\n", len(pol.Rules()), valueOr(f.accessFile, "(none: every endpoint allowed)"))
		return nil
	}
	up, err := docker.NewUpstream(f.upstream)
	if err != nil {
		return err
	}
	defer up.Close()
	opts := []docker.Option{docker.WithAccess(access), docker.WithLogger(g.logger), docker.WithMaxBody(f.maxBody), docker.WithUIDLookup(docker.LookupUID)}
	if scans != nil {
		opts = append(opts, docker.WithScanStore(scans))
	}
	if f.auditLog != "" {
		aopts, closeFwd, err := auditOptions(f)
		if err != nil {
			return err
		}
		defer closeFwd()
		w, err := audit.Open(f.auditLog, aopts...)
		if err != nil {
			return err
		}
		if w.Truncated > 0 {
			g.logger.Warn("audit log ended with a torn line; cut it off", "file", f.auditLog, "bytes", w.Truncated)
		}
		defer w.Close()
		opts = append(opts, docker.WithAudit(w))
	}
	guard := docker.New(up, pol, opts...)

	mode, err := strconv.ParseUint(f.socketMode, 8, 32)
	if err != nil {
		return fmt.Errorf("--socket-mode %q: %w", f.socketMode, err)
	}
	gid, err := groupID(f.socketGroup)
	if err != nil {
		return err
	}
	var tlsFiles *docker.TLSFiles
	if f.tlsCert != "" || f.tlsKey != "" {
		tlsFiles = &docker.TLSFiles{Cert: f.tlsCert, Key: f.tlsKey, ClientCA: f.tlsClientCA, ClientCertOptional: access.HasTokens()}
	}
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for _, addr := range f.listen {
		var l net.Listener
		if strings.HasPrefix(addr, "tcp://") {
			if tlsFiles == nil {
				return fmt.Errorf("--listen %s: TCP needs --tls-cert and --tls-key", addr)
			}
			cfg, err := tlsFiles.TLSConfig()
			if err != nil {
				return err
			}
			l, err = docker.Listen(addr, 0, -1, cfg)
			if err != nil {
				return err
			}
		} else if l, err = docker.Listen(addr, os.FileMode(mode), gid, nil); err != nil {
			return err
		}
		listeners = append(listeners, l)
		g.logger.Info("guard docker: listening", "addr", addr, "upstream", up.String())
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 3)
	servers := 1
	go func() { errc <- docker.Serve(ctx, guard, 10*time.Second, listeners...) }()
	if f.authzSocket != "" {
		l, err := docker.Listen("unix://"+f.authzSocket, 0o600, -1, nil)
		if err != nil {
			return err
		}
		servers++
		go func() { errc <- docker.Serve(ctx, guard.AuthZHandler(f.anonymous), 5*time.Second, l) }()
	}
	if f.metricsListen != "" {
		l, err := net.Listen("tcp", f.metricsListen)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", guard.Metrics().Handler())
		servers++
		go func() { errc <- docker.Serve(ctx, mux, time.Second, l) }()
	}
	// SIGHUP reloads the policies and the access file; a bad file keeps
	// the running ones.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := reloadGuardDocker(guard, f); err != nil {
					g.logger.Error("guard docker: reload failed, keeping the running policy and access file", "err", err)
				} else {
					g.logger.Info("guard docker: reloaded policy and access file")
				}
			}
		}
	}()

	// Every server returns after ctx ends (graceful shutdown) or on error;
	// the first error stops the others.
	var firstErr error
	for range servers {
		if err := <-errc; err != nil && firstErr == nil {
			firstErr = err
			stop()
		}
	}
	guard.Close() // write the queued audit records before the log closes
	return firstErr
}

func reloadGuardDocker(guard *docker.Guard, f *guardDockerFlags) error {
	docs, err := policy.ParsePaths(f.policies...)
	if err != nil {
		return err
	}
	pol, err := docker.LoadPolicy(!f.noDefault, docs...)
	if err != nil {
		return err
	}
	var acc *docker.Access
	if f.accessFile != "" {
		if acc, err = docker.LoadAccess(f.accessFile); err != nil {
			return err
		}
	}
	guard.Reload(pol, acc)
	return nil
}

func auditOptions(f *guardDockerFlags) ([]audit.Option, func(), error) {
	var opts []audit.Option
	switch f.auditSync {
	case "each", "":
		opts = append(opts, audit.WithSync(audit.SyncEach))
	case "none":
		opts = append(opts, audit.WithSync(audit.SyncNone))
	default:
		d, err := time.ParseDuration(f.auditSync)
		if err != nil || d <= 0 {
			return nil, nil, fmt.Errorf("--audit-sync %q: want each, none or a positive duration", f.auditSync)
		}
		opts = append(opts, audit.WithSync(audit.SyncInterval(d)))
	}
	closeFwd := func() {}
	if f.syslog != "" {
		network, addr := "", ""
		if f.syslog != "local" {
			n, a, ok := strings.Cut(f.syslog, "://")
			if !ok || (n != "udp" && n != "tcp") {
				return nil, nil, fmt.Errorf("--syslog %q: want local, udp://host:port or tcp://host:port", f.syslog)
			}
			network, addr = n, a
		}
		s, err := audit.DialSyslog(network, addr, "picket-guard-docker")
		if err != nil {
			return nil, nil, err
		}
		opts = append(opts, audit.WithForwarder(s))
		closeFwd = func() { s.Close() }
	}
	return opts, closeFwd, nil
}

func groupID(name string) (int, error) {
	if name == "" {
		return -1, nil
	}
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	grp, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("--socket-group: %w", err)
	}
	return strconv.Atoi(grp.Gid)
}

func valueOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
