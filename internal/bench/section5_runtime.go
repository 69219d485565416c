package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// Section 5: every running container, from docker inspect (and docker top
// for 5.7, the exec records for 5.23/5.24).

func init() {
	register(
		&Check{ID: "5.1", Title: "Ensure swarm mode is not Enabled, if not needed", Level: 1, Scored: true,
			Remediation: "docker swarm leave on hosts that do not need swarm mode.",
			Run:         checkSwarmMode},
		&Check{ID: "5.2", Title: "Ensure that, if applicable, an AppArmor Profile is enabled", Level: 1, Scored: true,
			Remediation: "Run containers with the default AppArmor profile (docker-default) or a custom one: --security-opt apparmor=PROFILE.",
			Run:         checkAppArmor},
		&Check{ID: "5.3", Title: "Ensure that, if applicable, SELinux security options are set", Level: 2, Scored: true,
			Remediation: "Start the daemon with --selinux-enabled and run containers with --security-opt label=...",
			Run:         checkSELinux},
		&Check{ID: "5.4", Title: "Ensure that Linux kernel capabilities are restricted within containers", Level: 1, Scored: true,
			Remediation: "Drop all capabilities and add back only what is needed: --cap-drop ALL --cap-add NET_BIND_SERVICE.",
			Run:         checkCapabilities},
		&Check{ID: "5.5", Title: "Ensure that privileged containers are not used", Level: 1, Scored: true,
			Remediation: "Do not run containers with --privileged; grant the specific capability or device instead.",
			Run:         checkPrivileged},
		&Check{ID: "5.6", Title: "Ensure sensitive host system directories are not mounted on containers", Level: 1, Scored: true,
			Remediation: "Do not bind-mount /, /boot, /dev, /etc, /lib, /proc, /sys or /usr (or their contents read-write) into containers.",
			Run:         checkSensitiveMounts},
		&Check{ID: "5.7", Title: "Ensure sshd is not run within containers", Level: 1, Scored: true,
			Remediation: "Remove the SSH daemon from the container; use docker exec for access.",
			Run:         checkSSHD},
		&Check{ID: "5.8", Title: "Ensure privileged ports are not mapped within containers", Level: 1, Scored: true,
			Remediation: "Publish container ports on host ports above 1024 (-p 8080:80).",
			Run:         checkPrivilegedPorts},
		&Check{ID: "5.9", Title: "Ensure that only needed ports are open on the container", Level: 1, Scored: false,
			Remediation: "Publish only the ports the service needs; avoid -P (publish all).",
			Run:         checkOpenPorts},
		&Check{ID: "5.10", Title: "Ensure that the host's network namespace is not shared", Level: 1, Scored: true,
			Remediation: "Do not run containers with --network host.",
			Run:         nsCheck("network", func(h *container.HostConfig) string { return string(h.NetworkMode) })},
		&Check{ID: "5.11", Title: "Ensure that the memory usage for containers is limited", Level: 1, Scored: true,
			Remediation: "Run containers with --memory (and --memory-swap).",
			Run:         checkMemory},
		&Check{ID: "5.12", Title: "Ensure that CPU priority is set appropriately on containers", Level: 1, Scored: true,
			Remediation: "Run containers with --cpus, --cpu-shares or --cpu-quota.",
			Run:         checkCPU},
		&Check{ID: "5.13", Title: "Ensure that the container's root filesystem is mounted as read only", Level: 1, Scored: true,
			Remediation: "Run containers with --read-only, with tmpfs or volumes for the paths they must write.",
			Run:         checkReadOnly},
		&Check{ID: "5.14", Title: "Ensure that incoming container traffic is bound to a specific host interface", Level: 1, Scored: true,
			Remediation: "Publish ports on a specific address: -p 127.0.0.1:8080:80.",
			Run:         checkBindAddress},
		&Check{ID: "5.15", Title: "Ensure that the 'on-failure' container restart policy is set to '5'", Level: 1, Scored: true,
			Remediation: "Use --restart on-failure:5 (or no restart policy) instead of always/unless-stopped or unlimited retries.",
			Run:         checkRestartPolicy},
		&Check{ID: "5.16", Title: "Ensure that the host's process namespace is not shared", Level: 1, Scored: true,
			Remediation: "Do not run containers with --pid host.",
			Run:         nsCheck("PID", func(h *container.HostConfig) string { return string(h.PidMode) })},
		&Check{ID: "5.17", Title: "Ensure that the host's IPC namespace is not shared", Level: 1, Scored: true,
			Remediation: "Do not run containers with --ipc host.",
			Run:         nsCheck("IPC", func(h *container.HostConfig) string { return string(h.IpcMode) })},
		&Check{ID: "5.18", Title: "Ensure that host devices are not directly exposed to containers", Level: 1, Scored: false,
			Remediation: "Do not pass host devices with --device unless needed, and then read-only (:r).",
			Run:         checkDevices},
		&Check{ID: "5.19", Title: "Ensure that the default ulimit is overwritten at runtime if needed", Level: 1, Scored: false,
			Remediation: "Override the daemon's default ulimits per container (--ulimit) only when needed.",
			Run:         checkUlimits},
		&Check{ID: "5.20", Title: "Ensure mount propagation mode is not set to shared", Level: 1, Scored: true,
			Remediation: "Do not mount volumes with shared or rshared propagation.",
			Run:         checkPropagation},
		&Check{ID: "5.21", Title: "Ensure that the host's UTS namespace is not shared", Level: 1, Scored: true,
			Remediation: "Do not run containers with --uts host.",
			Run:         nsCheck("UTS", func(h *container.HostConfig) string { return string(h.UTSMode) })},
		&Check{ID: "5.22", Title: "Ensure the default seccomp profile is not Disabled", Level: 1, Scored: true,
			Remediation: "Do not run containers with --security-opt seccomp=unconfined (or --privileged, which disables seccomp).",
			Run:         checkSeccomp},
		&Check{ID: "5.23", Title: "Ensure that docker exec commands are not used with the privileged option", Level: 2, Scored: true,
			Remediation: "Do not use docker exec --privileged.",
			Run: execCheck("privileged", func(p *container.ExecProcessConfig) string {
				if p.Privileged != nil && *p.Privileged {
					return "exec with --privileged: " + execCmd(p)
				}
				return ""
			})},
		&Check{ID: "5.24", Title: "Ensure that docker exec commands are not used with the user=root option", Level: 2, Scored: false,
			Remediation: "Do not use docker exec --user root (or 0).",
			Run: execCheck("user=root", func(p *container.ExecProcessConfig) string {
				switch u, _, _ := strings.Cut(p.User, ":"); u {
				case "root", "0":
					return "exec as user " + p.User + ": " + execCmd(p)
				}
				return ""
			})},
		&Check{ID: "5.25", Title: "Ensure that cgroup usage is confirmed", Level: 1, Scored: true,
			Remediation: "Do not use --cgroup-parent unless needed, and confirm the cgroup when it is.",
			Run:         checkCgroupUsage},
		&Check{ID: "5.26", Title: "Ensure that the container is restricted from acquiring additional privileges", Level: 1, Scored: true,
			Remediation: "Run containers with --security-opt no-new-privileges (or set it daemon-wide, 2.14).",
			Run:         checkNoNewPrivileges},
		&Check{ID: "5.27", Title: "Ensure that container health is checked at runtime", Level: 1, Scored: true,
			Remediation: "Give images a HEALTHCHECK or run containers with --health-cmd.",
			Run:         checkHealth},
		&Check{ID: "5.28", Title: "Ensure that Docker commands always make use of the latest version of their image", Level: 1, Scored: false,
			Remediation: "Pull images by digest, or pull before running so tags resolve to their current image.",
			Run:         manual("review that containers run current images (pin digests, pull before run)")},
		&Check{ID: "5.29", Title: "Ensure that the PIDs cgroup limit is used", Level: 1, Scored: true,
			Remediation: "Run containers with --pids-limit (e.g. 100).",
			Run:         checkPids},
		&Check{ID: "5.30", Title: "Ensure that Docker's default bridge \"docker0\" is not used", Level: 2, Scored: false,
			Remediation: "Connect containers to user-defined networks (docker network create) instead of the default bridge.",
			Run:         checkDefaultBridge},
		&Check{ID: "5.31", Title: "Ensure that the host's user namespaces are not shared", Level: 1, Scored: true,
			Remediation: "Do not run containers with --userns host.",
			Run:         nsCheck("user", func(h *container.HostConfig) string { return string(h.UsernsMode) })},
		&Check{ID: "5.32", Title: "Ensure that the Docker socket is not mounted inside any containers", Level: 1, Scored: true,
			Remediation: "Never mount docker.sock into containers: it gives full control of the host. Use a filtering proxy (picket guard docker) if a container must talk to the daemon.",
			Run:         checkDockerSock},
	)
}

func checkSwarmMode(ctx context.Context, e *Env) Outcome {
	inf, err := e.Info(ctx)
	if err != nil {
		return skipErr("cannot ask the daemon", err)
	}
	if inf.Swarm.LocalNodeState == "active" {
		return warn("swarm mode is active (node %s): confirm this host needs it", inf.Swarm.NodeID).
			withItems([]Item{{Target: "dockerd", Detail: "swarm " + string(inf.Swarm.LocalNodeState)}})
	}
	return pass("swarm mode is %s", orInactive(string(inf.Swarm.LocalNodeState)))
}

func orInactive(s string) string {
	if s == "" {
		return "inactive"
	}
	return s
}

func checkAppArmor(ctx context.Context, e *Env) Outcome {
	inf, err := e.Info(ctx)
	if err != nil {
		return skipErr("cannot ask the daemon", err)
	}
	if _, ok := securityOpt(inf, "apparmor"); !ok {
		return info("AppArmor is not enabled on this host (docker info security options: %s): not applicable", strings.Join(inf.SecurityOptions, "; "))
	}
	return e.forContainers(ctx, "have an AppArmor profile", func(c container.InspectResponse) string {
		switch c.AppArmorProfile {
		case "":
			if c.HostConfig.Privileged {
				return "no AppArmor profile (privileged)"
			}
			return "no AppArmor profile"
		case "unconfined":
			return "AppArmor profile unconfined"
		}
		return ""
	})
}

func checkSELinux(ctx context.Context, e *Env) Outcome {
	inf, err := e.Info(ctx)
	if err != nil {
		return skipErr("cannot ask the daemon", err)
	}
	if _, ok := securityOpt(inf, "selinux"); !ok {
		return info("SELinux is not enabled on the daemon (--selinux-enabled): not applicable")
	}
	return e.forContainers(ctx, "have SELinux options", func(c container.InspectResponse) string {
		for _, o := range c.HostConfig.SecurityOpt {
			if strings.HasPrefix(o, "label=disable") || strings.HasPrefix(o, "label:disable") {
				return "SELinux labeling disabled (" + o + ")"
			}
		}
		if c.ProcessLabel == "" {
			return "no SELinux process label"
		}
		return ""
	})
}

func checkCapabilities(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "add no capabilities", func(c container.InspectResponse) string {
		var add []string
		for _, cp := range c.HostConfig.CapAdd {
			add = append(add, strings.TrimPrefix(strings.ToUpper(cp), "CAP_"))
		}
		if len(add) == 0 {
			return ""
		}
		sort.Strings(add)
		return "capabilities added: " + strings.Join(add, ", ")
	})
}

func checkPrivileged(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "are unprivileged", func(c container.InspectResponse) string {
		if c.HostConfig.Privileged {
			return "privileged: all capabilities, all devices, no seccomp or AppArmor"
		}
		return ""
	})
}

// sensitiveDirs are the host directories CIS 5.6 names.
var sensitiveDirs = []string{"/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"}

func checkSensitiveMounts(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "mount no sensitive host directory", func(c container.InspectResponse) string {
		var bad []string
		for _, m := range c.Mounts {
			if m.Type != "bind" && m.Type != "" {
				continue
			}
			src := path.Clean(m.Source)
			if reason := sensitiveMount(src, m.RW); reason != "" {
				bad = append(bad, fmt.Sprintf("%s -> %s (%s)", src, m.Destination, reason))
			}
		}
		return strings.Join(bad, "; ")
	})
}

// sensitiveMount says why mounting src is sensitive, "" when it is not: one
// of the named directories itself, or a path below them mounted read-write.
func sensitiveMount(src string, rw bool) string {
	for _, d := range sensitiveDirs {
		if src == d {
			if rw {
				return "read-write"
			}
			return "read-only"
		}
	}
	if !rw {
		return ""
	}
	for _, d := range sensitiveDirs[1:] {
		if strings.HasPrefix(src, d+"/") {
			return "read-write, below " + d
		}
	}
	return ""
}

func checkSSHD(ctx context.Context, e *Env) Outcome {
	cs, err := e.Containers(ctx)
	if err != nil {
		return skipErr("cannot list containers", err)
	}
	if len(cs) == 0 {
		return info("no running containers")
	}
	cli, err := e.client()
	if err != nil {
		return skipErr("cannot ask the daemon", err)
	}
	var items []Item
	var errs []string
	for _, c := range cs {
		tc, cancel := e.reqCtx(ctx)
		top, err := cli.ContainerTop(tc, c.ID, client.ContainerTopOptions{})
		cancel()
		if err != nil {
			errs = append(errs, containerName(c)+": "+err.Error())
			continue
		}
		for _, p := range sshdProcesses(top.Titles, top.Processes) {
			items = append(items, Item{Target: containerName(c), Detail: "sshd running: " + p})
		}
	}
	switch {
	case len(items) > 0:
		return warn("sshd in %d containers", countTargets(items)).withItems(items)
	case len(errs) > 0:
		return skip("cannot list the processes of %d containers: %s", len(errs), strings.Join(errs, "; "))
	}
	return pass("no sshd in %d running containers", len(cs))
}

// sshdProcesses returns the command lines of sshd processes in a docker top
// answer.
func sshdProcesses(titles []string, procs [][]string) []string {
	col := -1
	for i, t := range titles {
		if t == "CMD" || t == "COMMAND" {
			col = i
		}
	}
	if col < 0 {
		return nil
	}
	var out []string
	for _, p := range procs {
		if col >= len(p) {
			continue
		}
		cmd := p[col]
		first := strings.Fields(cmd)
		if len(first) == 0 {
			continue
		}
		name := path.Base(strings.TrimSuffix(first[0], ":"))
		if name == "sshd" || strings.HasPrefix(cmd, "sshd:") {
			out = append(out, cmd)
		}
	}
	return out
}

func countTargets(items []Item) int {
	seen := map[string]bool{}
	for _, it := range items {
		seen[it.Target] = true
	}
	return len(seen)
}

// bindings returns a container's published ports as "HOSTIP:HOSTPORT->PORT".
type binding struct {
	hostIP   string
	hostPort int
	port     string
}

func bindings(c container.InspectResponse) []binding {
	var out []binding
	if c.NetworkSettings == nil {
		return nil
	}
	for p, bs := range c.NetworkSettings.Ports {
		for _, b := range bs {
			n, err := strconv.Atoi(b.HostPort)
			if err != nil {
				continue
			}
			ip := ""
			if b.HostIP.IsValid() {
				ip = b.HostIP.String()
			}
			out = append(out, binding{hostIP: ip, hostPort: n, port: p.String()})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].hostPort != out[j].hostPort {
			return out[i].hostPort < out[j].hostPort
		}
		return out[i].hostIP < out[j].hostIP
	})
	return out
}

func (b binding) String() string {
	ip := b.hostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return net.JoinHostPort(ip, strconv.Itoa(b.hostPort)) + "->" + b.port
}

func checkPrivilegedPorts(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "publish no privileged port", func(c container.InspectResponse) string {
		var bad []string
		for _, b := range bindings(c) {
			if b.hostPort > 0 && b.hostPort < 1024 {
				bad = append(bad, b.String())
			}
		}
		return strings.Join(bad, ", ")
	})
}

func checkOpenPorts(ctx context.Context, e *Env) Outcome {
	cs, err := e.Containers(ctx)
	if err != nil {
		return skipErr("cannot list containers", err)
	}
	var items []Item
	for _, c := range cs {
		var ps []string
		for _, b := range bindings(c) {
			ps = append(ps, b.String())
		}
		if len(ps) > 0 {
			items = append(items, Item{Target: containerName(c), Detail: "published: " + strings.Join(ps, ", ")})
		}
		if c.HostConfig.PublishAllPorts {
			items = append(items, Item{Target: containerName(c), Detail: "publishes every exposed port (-P)"})
		}
	}
	if len(items) == 0 {
		return note("manual: no container publishes ports; review exposed ports of %d containers", len(cs))
	}
	return note("manual: confirm each published port is needed").withItems(items)
}

// nsCheck warns on containers sharing a host namespace.
func nsCheck(what string, mode func(*container.HostConfig) string) func(context.Context, *Env) Outcome {
	return func(ctx context.Context, e *Env) Outcome {
		return e.forContainers(ctx, "use their own "+what+" namespace", func(c container.InspectResponse) string {
			if mode(c.HostConfig) == "host" {
				return "shares the host's " + what + " namespace"
			}
			return ""
		})
	}
}

func checkMemory(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "have a memory limit", func(c container.InspectResponse) string {
		if c.HostConfig.Memory <= 0 {
			return "no memory limit"
		}
		return ""
	})
}

func checkCPU(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "have CPU limits or shares", func(c container.InspectResponse) string {
		h := c.HostConfig
		if (h.CPUShares != 0 && h.CPUShares != 1024) || h.NanoCPUs > 0 || h.CPUQuota > 0 || h.CpusetCpus != "" {
			return ""
		}
		return "no CPU shares, quota or limit"
	})
}

func checkReadOnly(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "have a read-only root filesystem", func(c container.InspectResponse) string {
		if !c.HostConfig.ReadonlyRootfs {
			return "root filesystem is writable"
		}
		return ""
	})
}

func checkBindAddress(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "bind published ports to specific addresses", func(c container.InspectResponse) string {
		var bad []string
		for _, b := range bindings(c) {
			switch b.hostIP {
			case "", "0.0.0.0", "::":
				bad = append(bad, b.String())
			}
		}
		if len(bad) == 0 {
			return ""
		}
		return "bound to every interface: " + strings.Join(bad, ", ")
	})
}

func checkRestartPolicy(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "have no restart policy or on-failure with at most 5 retries", func(c container.InspectResponse) string {
		rp := c.HostConfig.RestartPolicy
		switch rp.Name {
		case "", "no":
			return ""
		case "on-failure":
			if rp.MaximumRetryCount > 0 && rp.MaximumRetryCount <= 5 {
				return ""
			}
			if rp.MaximumRetryCount == 0 {
				return "restart policy on-failure without a retry limit"
			}
			return fmt.Sprintf("restart policy on-failure:%d", rp.MaximumRetryCount)
		}
		return "restart policy " + string(rp.Name)
	})
}

func checkDevices(ctx context.Context, e *Env) Outcome {
	o := e.forContainers(ctx, "get no host devices", func(c container.InspectResponse) string {
		var ds []string
		for _, d := range c.HostConfig.Devices {
			ds = append(ds, fmt.Sprintf("%s:%s:%s", d.PathOnHost, d.PathInContainer, d.CgroupPermissions))
		}
		return strings.Join(ds, ", ")
	})
	if o.Result == Warn {
		o.Result = Info // manual in the benchmark: a human decides whether a device is needed
		o.Details = "host devices passed to containers; confirm each is needed: " + o.Details
	}
	return o
}

func checkUlimits(ctx context.Context, e *Env) Outcome {
	o := e.forContainers(ctx, "use the daemon's default ulimits", func(c container.InspectResponse) string {
		var us []string
		for _, u := range c.HostConfig.Ulimits {
			if u != nil {
				us = append(us, fmt.Sprintf("%s=%d:%d", u.Name, u.Soft, u.Hard))
			}
		}
		return strings.Join(us, ", ")
	})
	if o.Result == Warn {
		o.Result = Info
		o.Details = "ulimit overrides; confirm each is needed: " + o.Details
	}
	return o
}

func checkPropagation(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "mount nothing with shared propagation", func(c container.InspectResponse) string {
		var bad []string
		for _, m := range c.Mounts {
			if m.Propagation == "shared" || m.Propagation == "rshared" {
				bad = append(bad, fmt.Sprintf("%s -> %s (%s)", m.Source, m.Destination, m.Propagation))
			}
		}
		return strings.Join(bad, "; ")
	})
}

func checkSeccomp(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "keep a seccomp profile", func(c container.InspectResponse) string {
		for _, o := range c.HostConfig.SecurityOpt {
			k, v, ok := strings.Cut(o, "=")
			if !ok {
				k, v, _ = strings.Cut(o, ":")
			}
			if k == "seccomp" && v == "unconfined" {
				return "seccomp=unconfined"
			}
		}
		if c.HostConfig.Privileged {
			return "privileged: seccomp is disabled"
		}
		return ""
	})
}

func execCmd(p *container.ExecProcessConfig) string {
	return strings.TrimSpace(p.Entrypoint + " " + strings.Join(p.Arguments, " "))
}

// execCheck looks at the exec sessions of each running container that the
// daemon still holds (running ones; finished ones are forgotten, so a clean
// result cannot cover the past: it is NOTE, pointing at the audit log).
func execCheck(what string, bad func(*container.ExecProcessConfig) string) func(context.Context, *Env) Outcome {
	return func(ctx context.Context, e *Env) Outcome {
		cs, err := e.Containers(ctx)
		if err != nil {
			return skipErr("cannot list containers", err)
		}
		var items []Item
		var errs []string
		seen := 0
		for _, c := range cs {
			for _, id := range c.ExecIDs {
				ex, err := e.execInspect(ctx, id)
				if err != nil {
					if !strings.Contains(err.Error(), "404") {
						errs = append(errs, containerName(c)+": "+err.Error())
					}
					continue
				}
				seen++
				if ex.ProcessConfig == nil {
					continue
				}
				if d := bad(ex.ProcessConfig); d != "" {
					items = append(items, Item{Target: containerName(c), Detail: d})
				}
			}
		}
		switch {
		case len(items) > 0:
			return warn("exec sessions with %s", what).withItems(items)
		case len(errs) > 0:
			return skip("cannot inspect exec sessions: %s", strings.Join(errs, "; "))
		}
		return note("no %s exec among the %d exec sessions the daemon holds; finished ones are only in the audit log (ausearch -k docker)", what, seen)
	}
}

// execInspect fetches /exec/ID/json: the client library's ExecInspect drops
// the process configuration (privileged, user) these checks need.
func (e *Env) execInspect(ctx context.Context, id string) (*container.ExecInspectResponse, error) {
	cli, err := e.client()
	if err != nil {
		return nil, err
	}
	if _, err := e.Info(ctx); err != nil { // negotiates the API version
		return nil, err
	}
	dial := cli.Dialer()
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
	}}
	defer hc.CloseIdleConnections()
	c, cancel := e.reqCtx(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(c, http.MethodGet, "http://docker/v"+cli.ClientVersion()+"/exec/"+id+"/json", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("exec %s: HTTP %d", id, resp.StatusCode)
	}
	var out container.ExecInspectResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("exec %s: %w", id, err)
	}
	return &out, nil
}

func checkCgroupUsage(ctx context.Context, e *Env) Outcome {
	o := e.forContainers(ctx, "use the default cgroup parent", func(c container.InspectResponse) string {
		if c.HostConfig.CgroupParent != "" {
			return "cgroup parent " + c.HostConfig.CgroupParent
		}
		return ""
	})
	return o
}

func checkNoNewPrivileges(ctx context.Context, e *Env) Outcome {
	daemonDefault, _ := e.Daemon().Bool("no-new-privileges")
	if inf, err := e.Info(ctx); err == nil {
		if _, ok := securityOpt(inf, "no-new-privileges"); ok {
			daemonDefault = true
		}
	}
	return e.forContainers(ctx, "cannot gain new privileges", func(c container.InspectResponse) string {
		for _, o := range c.HostConfig.SecurityOpt {
			k, v, ok := strings.Cut(o, "=")
			if !ok {
				k, v, ok = strings.Cut(o, ":")
			}
			if k == "no-new-privileges" {
				if !ok || v == "" || v == "true" {
					return ""
				}
				return "no-new-privileges=" + v
			}
		}
		if daemonDefault {
			return ""
		}
		return "no-new-privileges not set"
	})
}

func checkHealth(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "have a health check", func(c container.InspectResponse) string {
		hc := c.Config.Healthcheck
		if hc != nil && len(hc.Test) > 0 && strings.EqualFold(hc.Test[0], "NONE") {
			return "health check disabled"
		}
		if c.State.Health == nil {
			return "no health check"
		}
		return ""
	})
}

func checkPids(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "have a PIDs limit", func(c container.InspectResponse) string {
		if p := c.HostConfig.PidsLimit; p == nil || *p <= 0 {
			return "no PIDs limit"
		}
		return ""
	})
}

func checkDefaultBridge(ctx context.Context, e *Env) Outcome {
	return e.forContainers(ctx, "avoid the default bridge", func(c container.InspectResponse) string {
		switch c.HostConfig.NetworkMode {
		case "default", "bridge":
			return "attached to the default bridge (docker0)"
		}
		if c.NetworkSettings != nil {
			if _, ok := c.NetworkSettings.Networks["bridge"]; ok {
				return "attached to the default bridge (docker0)"
			}
		}
		return ""
	})
}

func checkDockerSock(ctx context.Context, e *Env) Outcome {
	socks := map[string]bool{"/var/run/docker.sock": true, "/run/docker.sock": true}
	if ps, _ := dockerSocket(ctx, e); len(ps) > 0 {
		for _, p := range ps {
			socks[p] = true
		}
	}
	return e.forContainers(ctx, "do not mount the Docker socket", func(c container.InspectResponse) string {
		var bad []string
		for _, m := range c.Mounts {
			if socks[path.Clean(m.Source)] || path.Base(m.Source) == "docker.sock" || path.Base(m.Destination) == "docker.sock" {
				mode := "read-only (still full control)"
				if m.RW {
					mode = "read-write"
				}
				bad = append(bad, fmt.Sprintf("%s -> %s, %s", m.Source, m.Destination, mode))
			}
		}
		return strings.Join(bad, "; ")
	})
}
