package bench

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// Section 2: Docker daemon configuration, from docker info, daemon.json and
// the dockerd command line.

func init() {
	register(
		&Check{ID: "2.1", Title: "Run the Docker daemon as a non-root user, if possible", Level: 2, Scored: false,
			Remediation: "Consider rootless mode (dockerd-rootless-setuptool.sh install), within its networking and resource-limit constraints.",
			Run:         checkRootless},
		&Check{ID: "2.2", Title: "Ensure network traffic is restricted between containers on the default bridge", Level: 1, Scored: true,
			Remediation: `Set "icc": false in daemon.json (or dockerd --icc=false) and connect containers that must talk through user-defined networks.`,
			Run:         cfgBool("icc", true, false, "inter-container communication on the default bridge")},
		&Check{ID: "2.3", Title: "Ensure the logging level is set to 'info'", Level: 1, Scored: true,
			Remediation: `Set "log-level": "info" in daemon.json (or dockerd --log-level=info) and do not run the daemon with --debug.`,
			Run:         checkLogLevel},
		&Check{ID: "2.4", Title: "Ensure Docker is allowed to make changes to iptables", Level: 1, Scored: true,
			Remediation: `Remove "iptables": false from daemon.json (and --iptables=false from the command line).`,
			Run:         cfgBool("iptables", true, true, "Docker's iptables management")},
		&Check{ID: "2.5", Title: "Ensure insecure registries are not used", Level: 1, Scored: true,
			Remediation: `Remove "insecure-registries" entries (and --insecure-registry flags); give registries TLS certificates.`,
			Run:         checkInsecureRegistries},
		&Check{ID: "2.6", Title: "Ensure aufs storage driver is not used", Level: 1, Scored: true,
			Remediation: "Use overlay2 (the default) instead of aufs.",
			Run:         checkAufs},
		&Check{ID: "2.7", Title: "Ensure TLS authentication for Docker daemon is configured", Level: 1, Scored: true,
			Remediation: `When the daemon listens on TCP, set "tlsverify": true with "tlscacert", "tlscert" and "tlskey" so only clients with certificates signed by the CA connect.`,
			Run:         checkTLS},
		&Check{ID: "2.8", Title: "Ensure the default ulimit is configured appropriately", Level: 2, Scored: false,
			Remediation: `Set "default-ulimits" in daemon.json (e.g. {"nofile": {"Name": "nofile", "Soft": 1024, "Hard": 2048}}) as your policy requires.`,
			Run:         checkDefaultUlimit},
		&Check{ID: "2.9", Title: "Enable user namespace support", Level: 2, Scored: true,
			Remediation: `Set "userns-remap": "default" in daemon.json (with /etc/subuid and /etc/subgid entries) so root in a container is not root on the host.`,
			Run:         checkUserns},
		&Check{ID: "2.10", Title: "Ensure the default cgroup usage has been confirmed", Level: 2, Scored: true,
			Remediation: `Leave "cgroup-parent" unset unless a specific cgroup hierarchy is required, and confirm it when it is.`,
			Run:         checkCgroupParent},
		&Check{ID: "2.11", Title: "Ensure base device size is not changed until needed", Level: 2, Scored: true,
			Remediation: "Do not set --storage-opt dm.basesize until needed.",
			Run:         checkBaseSize},
		&Check{ID: "2.12", Title: "Ensure that authorization for Docker client commands is enabled", Level: 2, Scored: true,
			Remediation: `Install an authorization plugin (picket guard docker can act as one) and set "authorization-plugins" in daemon.json.`,
			Run:         checkAuthz},
		&Check{ID: "2.13", Title: "Ensure centralized and remote logging is configured", Level: 2, Scored: true,
			Remediation: `Set "log-driver" to a driver that ships logs off the host (syslog, journald with forwarding, fluentd, gelf, splunk, awslogs, gcplogs).`,
			Run:         checkRemoteLogging},
		&Check{ID: "2.14", Title: "Ensure containers are restricted from acquiring new privileges", Level: 2, Scored: true,
			Remediation: `Set "no-new-privileges": true in daemon.json (or dockerd --no-new-privileges).`,
			Run:         checkDaemonNNP},
		&Check{ID: "2.15", Title: "Ensure live restore is enabled", Level: 1, Scored: true,
			Remediation: `Set "live-restore": true in daemon.json so containers keep running while the daemon restarts.`,
			Run:         checkLiveRestore},
		&Check{ID: "2.16", Title: "Ensure Userland Proxy is Disabled", Level: 1, Scored: true,
			Remediation: `Set "userland-proxy": false in daemon.json; hairpin NAT then handles published ports.`,
			Run:         cfgBool("userland-proxy", true, false, "the userland proxy")},
		&Check{ID: "2.17", Title: "Ensure that a daemon-wide custom seccomp profile is applied if appropriate", Level: 2, Scored: false,
			Remediation: `Keep Docker's default seccomp profile or set "seccomp-profile" to a stricter one; never "unconfined".`,
			Run:         checkDaemonSeccomp},
		&Check{ID: "2.18", Title: "Ensure that experimental features are not implemented in production", Level: 1, Scored: true,
			Remediation: `Remove "experimental": true from daemon.json (and --experimental from the command line).`,
			Run:         checkExperimental},
	)
}

// configKnown returns a SKIP outcome when nothing is known about the daemon
// configuration, so "not set" cannot turn into a false PASS.
func configKnown(d *DaemonConfig) (Outcome, bool) {
	if d.FileErr != nil && d.Process == nil {
		return skip("daemon configuration unknown: %s; no dockerd command line", d.FileErr), false
	}
	if d.Process == nil && d.ProcessErr != nil && !d.FileFound {
		return skip("daemon configuration unknown: %s and no %s", d.ProcessErr, d.File), false
	}
	return Outcome{}, true
}

// cfgBool checks a boolean setting with dockerd's default def; the host
// complies when the effective value equals want.
func cfgBool(key string, def, want bool, what string) func(context.Context, *Env) Outcome {
	return func(_ context.Context, e *Env) Outcome {
		d := e.Daemon()
		if o, ok := configKnown(d); !ok {
			return o
		}
		v, set := d.Bool(key)
		if !set {
			if raw, ok := d.Get(key); ok {
				return warn("%s has an invalid value %q", key, raw)
			}
			v = def
		}
		state := "disabled"
		if v {
			state = "enabled"
		}
		src := d.Describe(key)
		if !set {
			src = fmt.Sprintf("%s not set: default %t; %s", key, def, d.Sources())
		}
		if v == want {
			return pass("%s %s (%s)", what, state, src)
		}
		return warn("%s %s (%s)", what, state, src).withItems([]Item{{Target: "dockerd", Detail: src}})
	}
}

func checkRootless(ctx context.Context, e *Env) Outcome {
	if _, err := e.Info(ctx); err != nil && e.Daemon().Process == nil {
		return skipErr("cannot tell how the daemon runs", err)
	}
	if e.Rootless(ctx) {
		return pass("the daemon runs rootless")
	}
	if p := e.Daemon().Process; p != nil && p.UID == 0 {
		return note("dockerd (pid %d) runs as root; consider rootless mode where its limits are acceptable", p.PID)
	}
	return note("the daemon runs as root; consider rootless mode where its limits are acceptable")
}

func checkLogLevel(ctx context.Context, e *Env) Outcome {
	d := e.Daemon()
	if o, ok := configKnown(d); !ok {
		return o
	}
	if v, set := d.Bool("debug"); set && v {
		return warn("debug logging is on (%s)", d.Describe("debug"))
	}
	if inf, err := e.Info(ctx); err == nil && inf.Debug {
		return warn("docker info reports debug mode on")
	}
	lvl, ok := d.Get("log-level")
	if !ok || lvl == "" {
		return pass("log-level not set: default info (%s)", d.Sources())
	}
	if strings.EqualFold(lvl, "info") {
		return pass("%s", d.Describe("log-level"))
	}
	return warn("%s", d.Describe("log-level")).withItems([]Item{{Target: "dockerd", Detail: d.Describe("log-level")}})
}

func checkInsecureRegistries(ctx context.Context, e *Env) Outcome {
	d := e.Daemon()
	var items []Item
	for _, r := range d.All("insecure-registries") {
		items = append(items, Item{Target: r, Detail: "insecure registry configured (" + d.Describe("insecure-registries") + ")"})
	}
	inf, err := e.Info(ctx)
	if err == nil && inf.RegistryConfig != nil {
		seen := map[string]bool{}
		for _, it := range items {
			seen[it.Target] = true
		}
		for _, c := range inf.RegistryConfig.InsecureRegistryCIDRs {
			// dockerd always adds 127.0.0.0/8 (and ::1/128): loopback is not a
			// choice the operator made.
			if c == netip.MustParsePrefix("127.0.0.0/8") || c == netip.MustParsePrefix("::1/128") || seen[c.String()] {
				continue
			}
			items = append(items, Item{Target: c.String(), Detail: "insecure registry CIDR (docker info)"})
		}
		for name, ic := range inf.RegistryConfig.IndexConfigs {
			if ic != nil && !ic.Secure && !seen[name] {
				items = append(items, Item{Target: name, Detail: "registry marked insecure (docker info)"})
			}
		}
	}
	if len(items) > 0 {
		return warn("%d insecure registries", len(items)).withItems(items)
	}
	if err != nil {
		if o, ok := configKnown(d); !ok {
			return o
		}
		return pass("no insecure registries configured (%s; docker info unavailable: %v)", d.Sources(), err)
	}
	return pass("no insecure registries besides the built-in loopback range")
}

func checkAufs(ctx context.Context, e *Env) Outcome {
	inf, err := e.Info(ctx)
	if err != nil {
		return skipErr("cannot ask the daemon for its storage driver", err)
	}
	if inf.Driver == "aufs" {
		return warn("storage driver is aufs").withItems([]Item{{Target: "dockerd", Detail: "storage-driver=aufs"}})
	}
	return pass("storage driver is %s", inf.Driver)
}

func checkTLS(ctx context.Context, e *Env) Outcome {
	d := e.Daemon()
	if o, ok := configKnown(d); !ok {
		return o
	}
	var tcp []string
	for _, h := range d.All("hosts") {
		if strings.HasPrefix(h, "tcp://") || (!strings.Contains(h, "://") && strings.Contains(h, ":")) {
			tcp = append(tcp, h)
		}
	}
	if len(tcp) == 0 {
		return info("the daemon does not listen on TCP (hosts: %s)", orNone(d.All("hosts")))
	}
	verify, _ := d.Bool("tlsverify")
	tls, _ := d.Bool("tls")
	ca, _ := d.Get("tlscacert")
	var items []Item
	bad := false
	for _, h := range tcp {
		switch {
		case verify && ca != "":
		case verify:
			items = append(items, Item{Target: h, Detail: "tlsverify without tlscacert: dockerd uses the CA in ~/.docker/ca.pem"})
		case tls:
			bad = true
			items = append(items, Item{Target: h, Detail: "TLS without client verification: any client can connect"})
		default:
			bad = true
			items = append(items, Item{Target: h, Detail: "plain TCP without TLS: anyone who reaches the port controls the host"})
		}
	}
	switch {
	case bad:
		return warn("listening on TCP without client certificate verification").withItems(items)
	case len(items) > 0:
		return info("listening on %s with tlsverify; CA from the default location", strings.Join(tcp, ", ")).withItems(items)
	}
	return pass("listening on %s with tlsverify and tlscacert %s", strings.Join(tcp, ", "), ca)
}

func orNone(v []string) string {
	if len(v) == 0 {
		return "default unix socket"
	}
	return strings.Join(v, ", ")
}

func checkDefaultUlimit(_ context.Context, e *Env) Outcome {
	d := e.Daemon()
	if o, ok := configKnown(d); !ok {
		return o
	}
	if v := d.All("default-ulimits"); len(v) > 0 {
		return pass("%s", d.Describe("default-ulimits"))
	}
	return info("default-ulimits not set (%s): containers inherit the daemon's limits", d.Sources())
}

func checkUserns(ctx context.Context, e *Env) Outcome {
	if inf, err := e.Info(ctx); err == nil {
		if _, ok := securityOpt(inf, "userns"); ok {
			return pass("user namespace remapping active (docker info)")
		}
		if _, ok := securityOpt(inf, "rootless"); ok {
			return pass("rootless daemon: container root maps to an unprivileged host user")
		}
	}
	d := e.Daemon()
	if o, ok := configKnown(d); !ok {
		return o
	}
	if v, ok := d.Get("userns-remap"); ok && v != "" {
		return pass("%s", d.Describe("userns-remap"))
	}
	return warn("userns-remap not set (%s): root in a container is root on the host", d.Sources()).
		withItems([]Item{{Target: "dockerd", Detail: "userns-remap not set"}})
}

func checkCgroupParent(_ context.Context, e *Env) Outcome {
	d := e.Daemon()
	if o, ok := configKnown(d); !ok {
		return o
	}
	if v, ok := d.Get("cgroup-parent"); ok && v != "" {
		return info("%s: confirm this cgroup is intended", d.Describe("cgroup-parent"))
	}
	return pass("cgroup-parent not set: default cgroup (%s)", d.Sources())
}

func checkBaseSize(_ context.Context, e *Env) Outcome {
	d := e.Daemon()
	if o, ok := configKnown(d); !ok {
		return o
	}
	for _, v := range d.All("storage-opts") {
		if strings.HasPrefix(v, "dm.basesize") {
			return warn("%s", d.Describe("storage-opts")).withItems([]Item{{Target: "dockerd", Detail: v}})
		}
	}
	return pass("dm.basesize not set")
}

func checkAuthz(ctx context.Context, e *Env) Outcome {
	d := e.Daemon()
	if v := d.All("authorization-plugins"); len(v) > 0 {
		return pass("%s", d.Describe("authorization-plugins"))
	}
	if inf, err := e.Info(ctx); err == nil && len(inf.Plugins.Authorization) > 0 {
		return pass("authorization plugins: %s (docker info)", strings.Join(inf.Plugins.Authorization, ", "))
	} else if err != nil {
		if o, ok := configKnown(d); !ok {
			return o
		}
	}
	return warn("no authorization plugin: every client of the socket may do anything").
		withItems([]Item{{Target: "dockerd", Detail: "authorization-plugins not set"}})
}

// localLogDrivers keep logs on the host only.
var localLogDrivers = map[string]bool{"json-file": true, "local": true, "none": true, "": true}

func checkRemoteLogging(ctx context.Context, e *Env) Outcome {
	inf, err := e.Info(ctx)
	if err != nil {
		return skipErr("cannot ask the daemon for its logging driver", err)
	}
	if localLogDrivers[inf.LoggingDriver] {
		return warn("logging driver %q keeps logs on the host", inf.LoggingDriver).
			withItems([]Item{{Target: "dockerd", Detail: "log-driver=" + inf.LoggingDriver}})
	}
	return pass("logging driver %s", inf.LoggingDriver)
}

func checkDaemonNNP(ctx context.Context, e *Env) Outcome {
	if inf, err := e.Info(ctx); err == nil {
		if _, ok := securityOpt(inf, "no-new-privileges"); ok {
			return pass("no-new-privileges is the daemon default (docker info)")
		}
	}
	return cfgBool("no-new-privileges", false, true, "no-new-privileges by default")(ctx, e)
}

func checkLiveRestore(ctx context.Context, e *Env) Outcome {
	inf, err := e.Info(ctx)
	if err != nil {
		return skipErr("cannot ask the daemon", err)
	}
	if inf.LiveRestoreEnabled {
		return pass("live restore enabled")
	}
	if inf.Swarm.LocalNodeState == "active" {
		return pass("swarm mode is active; live restore is incompatible with it")
	}
	return warn("live restore disabled: restarting the daemon stops every container").
		withItems([]Item{{Target: "dockerd", Detail: "live-restore=false"}})
}

func checkDaemonSeccomp(ctx context.Context, e *Env) Outcome {
	inf, err := e.Info(ctx)
	if err != nil {
		return skipErr("cannot ask the daemon", err)
	}
	sc, ok := securityOpt(inf, "seccomp")
	if !ok {
		return warn("seccomp is not available on this daemon (kernel or build without it)").
			withItems([]Item{{Target: "dockerd", Detail: "no seccomp security option"}})
	}
	switch p := sc["profile"]; p {
	case "default", "builtin":
		return pass("Docker's default seccomp profile is applied")
	case "unconfined":
		return warn("seccomp-profile is unconfined: containers run without syscall filtering").
			withItems([]Item{{Target: "dockerd", Detail: "seccomp profile unconfined"}})
	default:
		return info("custom seccomp profile %q: confirm it is at least as strict as the default", p)
	}
}

func checkExperimental(ctx context.Context, e *Env) Outcome {
	inf, err := e.Info(ctx)
	if err != nil {
		return skipErr("cannot ask the daemon", err)
	}
	if inf.ExperimentalBuild {
		return warn("experimental features are enabled").withItems([]Item{{Target: "dockerd", Detail: "experimental=true"}})
	}
	return pass("experimental features are disabled")
}
