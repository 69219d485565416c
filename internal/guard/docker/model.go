package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/api/types/plugin"
	"github.com/moby/moby/api/types/swarm"
	"github.com/moby/moby/api/types/volume"
)

// Input is what one policy evaluation sees. Every variable is always a
// complete map (zero values when it does not apply), so conditions never
// fail on a missing key; they test request.endpoint to pick their
// operation.
type Input struct {
	Identity  map[string]any
	Request   map[string]any
	Container map[string]any
	Exec      map[string]any
	Image     map[string]any
	Build     map[string]any
	Plugin    map[string]any
	Volume    map[string]any
	Body      any
}

// vars returns the activation map.
func (in *Input) vars() map[string]any {
	return map[string]any{
		"identity": in.Identity, "request": in.Request, "container": in.Container, "exec": in.Exec,
		"image": in.Image, "build": in.Build, "plugin": in.Plugin, "volume": in.Volume, "body": in.Body,
	}
}

// bodyEndpoints are the operations whose JSON body the policy reads. A
// body over the limit, unparsable, compressed, or missing (plugin mode) on
// these is refused.
var bodyEndpoints = map[string]bool{
	"container.create": true, "container.update": true, "exec.create": true, "exec.start": true,
	"service.create": true, "service.update": true, "plugin.pull": true, "plugin.upgrade": true,
	"plugin.set": true, "volume.create": true,
}

// NeedsBody reports whether the policy reads this operation's body.
func NeedsBody(endpoint string) bool { return bodyEndpoints[endpoint] }

// Daemon answers the look-ups the policy needs beyond the request: the
// default user of a container (exec as root), an exec's settings (exec
// start) and a named volume's options (bind-mounted volumes).
type Daemon interface {
	GetJSON(ctx context.Context, path string, v any) error
}

// errNotFound is returned by Daemon.GetJSON for a 404.
var errNotFound = errors.New("not found")

// BodyError is a guarded body the guard cannot read safely (HTTP 400).
type BodyError struct{ Reason string }

func (e *BodyError) Error() string { return "guard: request body: " + e.Reason }

func newInput(id Identity, req *Request) *Input {
	q := map[string]any{}
	for k, vs := range req.Query {
		q[k] = vs[0]
	}
	params := map[string]any{}
	for k, v := range req.Params {
		params[k] = v
	}
	groups := id.Groups
	if groups == nil {
		groups = []string{}
	}
	return &Input{
		Identity:  map[string]any{"name": id.Name, "groups": groups, "auth": id.Auth, "source": id.Source},
		Request:   map[string]any{"method": req.Method, "path": req.Path, "endpoint": req.Endpoint, "version": req.Version, "query": q, "params": params},
		Container: emptyContainer,
		Exec:      emptyExec,
		Image:     emptyImage,
		Build:     emptyBuild,
		Plugin:    emptyPlugin,
		Volume:    emptyVolume,
		Body:      map[string]any{},
	}
}

var (
	emptyContainer = containerModel(&container.Config{}, &container.HostConfig{}, nil)
	emptyExec      = map[string]any{"container": "", "user": "", "privileged": false, "tty": false, "cmd": []string{}, "is_root": false}
	emptyImage     = imageModel("")
	emptyBuild     = map[string]any{"tags": []string{}, "network_mode": "", "extra_hosts": "", "buildargs": map[string]string{}, "dockerfile": "", "remote": "", "platform": ""}
	emptyPlugin    = map[string]any{"remote": "", "name": "", "privileges": []map[string]any{}, "settings": []string{}, "host_paths": []string{}}
	emptyVolume    = map[string]any{"name": "", "driver": "", "driver_opts": map[string]string{}, "bind_source": ""}
)

// buildInput fills the operation's model from the request and its body
// (nil when the operation has none).
func buildInput(ctx context.Context, d Daemon, scans *ScanStore, id Identity, req *Request, body []byte) (*Input, error) {
	in := newInput(id, req)
	if len(body) > 0 && NeedsBody(req.Endpoint) {
		var raw any
		if err := strictDecode(body, &raw); err != nil {
			return nil, err
		}
		in.Body = raw
	}
	switch req.Endpoint {
	case "container.create":
		var w struct {
			*container.Config
			HostConfig       *container.HostConfig
			NetworkingConfig *network.NetworkingConfig
		}
		if err := strictDecode(body, &w); err != nil {
			return nil, err
		}
		if err := refuseLegacyHostConfig(body); err != nil {
			return nil, err
		}
		if w.Config == nil {
			w.Config = &container.Config{}
		}
		if w.HostConfig == nil {
			w.HostConfig = &container.HostConfig{}
		}
		vols, err := namedVolumes(ctx, d, w.HostConfig)
		if err != nil {
			return nil, err
		}
		inherited, err := volumesFromPaths(ctx, d, w.HostConfig.VolumesFrom)
		if err != nil {
			return nil, err
		}
		in.Container = containerModel(w.Config, w.HostConfig, vols)
		if len(inherited) > 0 {
			in.Container["host_paths"] = append(in.Container["host_paths"].([]string), inherited...)
		}
		in.Container["name"] = req.Query.Get("name")
		in.Image = imageModel(w.Config.Image)
		if scans != nil {
			v, err := scans.verdict(ctx, d, w.Config.Image)
			if err != nil {
				return nil, err
			}
			in.Image["scan"] = v
		}
	case "container.update":
		var u container.UpdateConfig
		if err := strictDecode(body, &u); err != nil {
			return nil, err
		}
		in.Container = containerModel(&container.Config{}, &container.HostConfig{Resources: u.Resources}, nil)
	case "exec.create":
		var e container.ExecCreateRequest
		if err := strictDecode(body, &e); err != nil {
			return nil, err
		}
		m, err := execModel(ctx, d, req.Params["id"], e.User, e.Privileged, e.Tty, e.Cmd)
		if err != nil {
			return nil, err
		}
		in.Exec = m
	case "exec.start":
		if len(body) > 0 {
			var s container.ExecStartRequest
			if err := strictDecode(body, &s); err != nil {
				return nil, err
			}
		}
		var ei struct {
			ContainerID   string
			ProcessConfig struct {
				User       string `json:"user"`
				Privileged *bool  `json:"privileged"`
				Tty        bool   `json:"tty"`
				Entrypoint string `json:"entrypoint"`
				Arguments  []string
			}
		}
		if d == nil {
			return nil, errors.New("guard: exec start needs the daemon to inspect the exec")
		}
		if err := d.GetJSON(ctx, "/exec/"+url.PathEscape(req.Params["id"])+"/json", &ei); err != nil {
			if errors.Is(err, errNotFound) {
				break // the daemon answers 404 itself
			}
			return nil, fmt.Errorf("guard: inspecting exec %s: %w", req.Params["id"], err)
		}
		priv := ei.ProcessConfig.Privileged != nil && *ei.ProcessConfig.Privileged
		cmd := append([]string{ei.ProcessConfig.Entrypoint}, ei.ProcessConfig.Arguments...)
		m, err := execModel(ctx, d, ei.ContainerID, ei.ProcessConfig.User, priv, ei.ProcessConfig.Tty, cmd)
		if err != nil {
			return nil, err
		}
		in.Exec = m
	case "image.pull":
		ref := req.Query.Get("fromImage")
		if tag := req.Query.Get("tag"); ref != "" && tag != "" {
			if strings.HasPrefix(tag, "sha256:") {
				ref += "@" + tag
			} else {
				ref += ":" + tag
			}
		}
		in.Image = imageModel(ref)
	case "image.build":
		in.Build = buildModel(req.Query)
	case "service.create", "service.update":
		var s swarm.ServiceSpec
		if err := strictDecode(body, &s); err != nil {
			return nil, err
		}
		in.Container = serviceModel(&s)
		if cs := s.TaskTemplate.ContainerSpec; cs != nil {
			in.Image = imageModel(cs.Image)
		}
	case "plugin.pull", "plugin.upgrade":
		var privs []plugin.Privilege
		if len(body) > 0 {
			if err := strictDecode(body, &privs); err != nil {
				return nil, err
			}
		}
		var ps []map[string]any
		for _, p := range privs {
			vals := p.Value
			if vals == nil {
				vals = []string{}
			}
			ps = append(ps, map[string]any{"name": p.Name, "value": vals})
		}
		if ps == nil {
			ps = []map[string]any{}
		}
		in.Plugin = map[string]any{"remote": req.Query.Get("remote"), "name": firstNonEmpty(req.Query.Get("name"), req.Params["name"]), "privileges": ps,
			"settings": []string{}, "host_paths": []string{}}
		in.Image = imageModel(req.Query.Get("remote"))
	case "plugin.set":
		var settings []string
		if err := strictDecode(body, &settings); err != nil {
			return nil, err
		}
		var paths []string
		for _, kv := range settings {
			k, v, _ := strings.Cut(kv, "=")
			if strings.HasSuffix(k, ".source") || k == "devices" || strings.HasSuffix(k, ".path") {
				for _, p := range strings.Split(v, ",") {
					if strings.HasPrefix(p, "/") {
						paths = append(paths, ResolveHostPath(p))
					}
				}
			}
		}
		if paths == nil {
			paths = []string{}
		}
		in.Plugin = map[string]any{"remote": "", "name": req.Params["name"], "privileges": []map[string]any{}, "settings": settings, "host_paths": paths}
	case "volume.create":
		var v volume.CreateRequest
		if err := strictDecode(body, &v); err != nil {
			return nil, err
		}
		opts := v.DriverOpts
		if opts == nil {
			opts = map[string]string{}
		}
		in.Volume = map[string]any{"name": v.Name, "driver": v.Driver, "driver_opts": opts, "bind_source": bindDevice(v.Driver, opts)}
	}
	return in, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// strictDecode decodes one JSON value with encoding/json, as the daemon
// does (case-insensitive field names, last duplicate wins), and refuses
// trailing data.
func strictDecode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &BodyError{"empty body"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return &BodyError{"unparsable JSON: " + err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &BodyError{"trailing data after the JSON value"}
	}
	return nil
}

// legacyHostFields are HostConfig fields that old daemons also read from
// the top level of a create body. No current client sends them there; a
// body that does is trying something.
var legacyHostFields = []string{"privileged", "binds", "capadd", "devices", "networkmode", "pidmode", "ipcmode",
	"utsmode", "usernsmode", "securityopt", "mounts", "portbindings", "memory", "cgroupnsmode", "cgroupparent"}

func refuseLegacyHostConfig(body []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return &BodyError{"unparsable JSON: " + err.Error()}
	}
	for k := range top {
		lk := strings.ToLower(k)
		for _, f := range legacyHostFields {
			if lk == f {
				return &BodyError{fmt.Sprintf("HostConfig field %q at the top level of the body", k)}
			}
		}
	}
	return nil
}

// ResolveHostPath cleans p and resolves symbolic links in its longest
// existing prefix on this host, so that a bind of /tmp/link -> / is seen
// as /. Paths that do not exist yet keep their clean form (the daemon
// creates them).
func ResolveHostPath(p string) string {
	p = filepath.Clean(p)
	if !filepath.IsAbs(p) {
		return p
	}
	rest := ""
	cur := p
	for {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// bindDevice returns the resolved host path a local-driver volume with
// bind options mounts ("" if none).
func bindDevice(driver string, opts map[string]string) string {
	if driver != "" && driver != "local" {
		return ""
	}
	dev, o := opts["device"], opts["o"]
	if dev == "" || !strings.HasPrefix(dev, "/") {
		return ""
	}
	for _, f := range strings.Split(o, ",") {
		if f == "bind" || f == "rbind" {
			return ResolveHostPath(dev)
		}
	}
	return ""
}

// namedVolumes looks up the named volumes a create request mounts, to find
// ones that bind a host path.
func namedVolumes(ctx context.Context, d Daemon, hc *container.HostConfig) (map[string]string, error) {
	var names []string
	for _, b := range hc.Binds {
		src, _, _ := strings.Cut(b, ":")
		if src != "" && !strings.HasPrefix(src, "/") {
			names = append(names, src)
		}
	}
	for _, m := range hc.Mounts {
		if m.Type == mount.TypeVolume && m.Source != "" {
			names = append(names, m.Source)
		}
	}
	if len(names) == 0 || d == nil {
		return nil, nil
	}
	out := map[string]string{}
	for _, n := range names {
		var v struct {
			Driver  string
			Options map[string]string
		}
		err := d.GetJSON(ctx, "/volumes/"+url.PathEscape(n), &v)
		if errors.Is(err, errNotFound) {
			continue // created empty by the daemon
		}
		if err != nil {
			return nil, fmt.Errorf("guard: inspecting volume %s: %w", n, err)
		}
		if dev := bindDevice(v.Driver, v.Options); dev != "" {
			out[n] = dev
		}
	}
	return out, nil
}

// volumesFromPaths returns the host paths bound into the containers a
// create inherits volumes from (--volumes-from), so that borrowing the
// mounts of a more privileged container is seen as mounting them.
func volumesFromPaths(ctx context.Context, d Daemon, from []string) ([]string, error) {
	if len(from) == 0 {
		return nil, nil
	}
	if d == nil {
		return nil, errors.New("guard: --volumes-from needs the daemon to inspect the source container")
	}
	var out []string
	for _, f := range from {
		id, _, _ := strings.Cut(f, ":")
		var ci struct {
			Mounts []struct {
				Type   string
				Name   string
				Source string
			}
		}
		if err := d.GetJSON(ctx, "/containers/"+url.PathEscape(id)+"/json", &ci); err != nil {
			if errors.Is(err, errNotFound) {
				continue // the daemon refuses the create itself
			}
			return nil, fmt.Errorf("guard: inspecting container %s: %w", id, err)
		}
		for _, m := range ci.Mounts {
			if m.Type == "bind" && m.Source != "" {
				out = append(out, ResolveHostPath(m.Source))
			}
		}
	}
	return out, nil
}

func normCaps(cs []string) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		c = strings.ToUpper(strings.TrimSpace(c))
		out = append(out, strings.TrimPrefix(c, "CAP_"))
	}
	return out
}

// securityOpts reads --security-opt values (key=value or the old key:value).
func securityOpts(opts []string) (seccomp, apparmor string, nnp, labelDisable, systempaths bool) {
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			k, v, ok = strings.Cut(o, ":")
		}
		k = strings.ToLower(strings.TrimSpace(k))
		switch k {
		case "seccomp":
			seccomp = v
			if !strings.EqualFold(strings.TrimSpace(v), "unconfined") && strings.HasPrefix(strings.TrimSpace(v), "{") {
				seccomp = "custom"
			}
		case "apparmor":
			apparmor = v
		case "no-new-privileges":
			nnp = !ok
			if ok {
				b, err := strconv.ParseBool(v)
				nnp = err == nil && b
			}
		case "label":
			labelDisable = labelDisable || strings.EqualFold(v, "disable")
		case "systempaths":
			systempaths = strings.EqualFold(v, "unconfined")
		}
	}
	return
}

func containerModel(cfg *container.Config, hc *container.HostConfig, vols map[string]string) map[string]any {
	var mounts []map[string]any
	var hostPaths []string
	addMount := func(typ, src, dst string, ro bool) {
		resolved := ""
		switch {
		case typ == "bind":
			resolved = ResolveHostPath(src)
		case typ == "volume" && vols[src] != "":
			resolved = vols[src]
		}
		if resolved != "" {
			hostPaths = append(hostPaths, resolved)
		}
		mounts = append(mounts, map[string]any{"type": typ, "source": src, "target": dst, "read_only": ro, "host_path": resolved})
	}
	for _, b := range hc.Binds {
		parts := strings.Split(b, ":")
		src, dst, ro := parts[0], "", false
		if len(parts) > 1 {
			dst = parts[1]
		}
		if len(parts) > 2 {
			for _, o := range strings.Split(parts[2], ",") {
				ro = ro || o == "ro"
			}
		}
		typ := "volume"
		if strings.HasPrefix(src, "/") {
			typ = "bind"
		}
		addMount(typ, src, dst, ro)
	}
	for _, m := range hc.Mounts {
		typ := string(m.Type)
		if typ == "volume" && m.VolumeOptions != nil && m.VolumeOptions.DriverConfig != nil {
			if dev := bindDevice(m.VolumeOptions.DriverConfig.Name, m.VolumeOptions.DriverConfig.Options); dev != "" {
				if vols == nil {
					vols = map[string]string{}
				}
				vols[m.Source] = dev
			}
		}
		addMount(typ, m.Source, m.Target, m.ReadOnly)
	}
	if mounts == nil {
		mounts = []map[string]any{}
	}
	if hostPaths == nil {
		hostPaths = []string{}
	}
	var ports []map[string]any
	for p, bs := range hc.PortBindings {
		for _, b := range bs {
			hp, _ := strconv.Atoi(strings.Split(b.HostPort, "-")[0])
			ip := ""
			if b.HostIP.IsValid() {
				ip = b.HostIP.String()
			}
			ports = append(ports, map[string]any{"container_port": p.String(), "host_ip": ip, "host_port": hp})
		}
	}
	if ports == nil {
		ports = []map[string]any{}
	}
	var devices []string
	for _, d := range hc.Devices {
		devices = append(devices, d.PathOnHost)
	}
	if devices == nil {
		devices = []string{}
	}
	seccomp, apparmor, nnp, labelDisable, systempaths := securityOpts(hc.SecurityOpt)
	pids := int64(0)
	if hc.PidsLimit != nil {
		pids = *hc.PidsLimit
	}
	secOpt := hc.SecurityOpt
	if secOpt == nil {
		secOpt = []string{}
	}
	sysctls := hc.Sysctls
	if sysctls == nil {
		sysctls = map[string]string{}
	}
	return map[string]any{
		"name":                   "",
		"image":                  cfg.Image,
		"user":                   cfg.User,
		"privileged":             hc.Privileged,
		"cap_add":                normCaps(hc.CapAdd),
		"cap_drop":               normCaps(hc.CapDrop),
		"mounts":                 mounts,
		"host_paths":             hostPaths,
		"network_mode":           string(hc.NetworkMode),
		"pid_mode":               string(hc.PidMode),
		"ipc_mode":               string(hc.IpcMode),
		"uts_mode":               string(hc.UTSMode),
		"userns_mode":            string(hc.UsernsMode),
		"cgroupns_mode":          string(hc.CgroupnsMode),
		"devices":                devices,
		"device_requests":        len(hc.DeviceRequests),
		"device_cgroup_rules":    len(hc.DeviceCgroupRules),
		"security_opt":           secOpt,
		"seccomp":                seccomp,
		"apparmor":               apparmor,
		"no_new_privileges":      nnp,
		"label_disable":          labelDisable,
		"systempaths_unconfined": systempaths,
		"memory":                 hc.Memory,
		"nano_cpus":              hc.NanoCPUs,
		"cpu_quota":              hc.CPUQuota,
		"cpu_shares":             hc.CPUShares,
		"pids_limit":             pids,
		"ports":                  ports,
		"publish_all":            hc.PublishAllPorts,
		"readonly_rootfs":        hc.ReadonlyRootfs,
		"runtime":                hc.Runtime,
		"sysctls":                sysctls,
	}
}

// serviceModel maps a swarm service's container spec onto the container
// model, so the same rules cover docker run and docker service create.
func serviceModel(s *swarm.ServiceSpec) map[string]any {
	cs := s.TaskTemplate.ContainerSpec
	if cs == nil {
		cs = &swarm.ContainerSpec{}
	}
	cfg := &container.Config{Image: cs.Image, User: cs.User}
	hc := &container.HostConfig{CapAdd: cs.CapabilityAdd, CapDrop: cs.CapabilityDrop, Mounts: cs.Mounts, Sysctls: cs.Sysctls}
	if p := cs.Privileges; p != nil {
		if p.NoNewPrivileges {
			hc.SecurityOpt = append(hc.SecurityOpt, "no-new-privileges=true")
		}
		if p.Seccomp != nil && p.Seccomp.Mode == swarm.SeccompModeUnconfined {
			hc.SecurityOpt = append(hc.SecurityOpt, "seccomp=unconfined")
		}
		if p.AppArmor != nil && p.AppArmor.Mode == swarm.AppArmorModeDisabled {
			hc.SecurityOpt = append(hc.SecurityOpt, "apparmor=unconfined")
		}
	}
	if r := s.TaskTemplate.Resources; r != nil && r.Limits != nil {
		hc.Memory, hc.NanoCPUs = r.Limits.MemoryBytes, r.Limits.NanoCPUs
		if r.Limits.Pids > 0 {
			pids := r.Limits.Pids
			hc.PidsLimit = &pids
		}
	}
	m := containerModel(cfg, hc, nil)
	m["name"] = s.Name
	var ports []map[string]any
	if s.EndpointSpec != nil {
		for _, p := range s.EndpointSpec.Ports {
			if p.PublishedPort != 0 {
				ports = append(ports, map[string]any{"container_port": strconv.Itoa(int(p.TargetPort)) + "/" + string(p.Protocol), "host_ip": "", "host_port": int(p.PublishedPort)})
			}
		}
	}
	if ports != nil {
		m["ports"] = ports
	}
	return m
}

func isRootUser(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	return name == "" || name == "root" || name == "0"
}

// execModel describes an exec; its effective user is the exec's user or,
// when empty, the container's configured user.
func execModel(ctx context.Context, d Daemon, containerID, user string, privileged, tty bool, cmd []string) (map[string]any, error) {
	effective := user
	if effective == "" && d != nil && containerID != "" {
		var ci struct{ Config struct{ User string } }
		err := d.GetJSON(ctx, "/containers/"+url.PathEscape(containerID)+"/json", &ci)
		if err != nil && !errors.Is(err, errNotFound) {
			return nil, fmt.Errorf("guard: inspecting container %s: %w", containerID, err)
		}
		effective = ci.Config.User
	}
	if cmd == nil {
		cmd = []string{}
	}
	return map[string]any{"container": containerID, "user": effective, "privileged": privileged, "tty": tty, "cmd": cmd, "is_root": isRootUser(effective)}, nil
}

func buildModel(q url.Values) map[string]any {
	args := map[string]string{}
	if s := q.Get("buildargs"); s != "" {
		var m map[string]*string
		if json.Unmarshal([]byte(s), &m) == nil {
			for k, v := range m {
				if v != nil {
					args[k] = *v
				}
			}
		}
	}
	tags := q["t"]
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"tags": tags, "network_mode": q.Get("networkmode"), "extra_hosts": q.Get("extrahosts"),
		"buildargs": args, "dockerfile": q.Get("dockerfile"), "remote": q.Get("remote"), "platform": q.Get("platform"),
	}
}

// imageModel splits an image reference the way Docker does: a first
// component with a '.' or ':' or equal to "localhost" is a registry, else
// the registry is docker.io. A bare image ID (sha256:...) has no registry.
func imageModel(ref string) map[string]any {
	m := map[string]any{"ref": ref, "registry": "", "repository": "", "tag": "", "digest": "", "scan": emptyScan}
	if ref == "" || strings.HasPrefix(ref, "sha256:") || isHexID(ref) {
		return m
	}
	name := ref
	if i := strings.Index(name, "@"); i >= 0 {
		m["digest"] = name[i+1:]
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i >= 0 && !strings.Contains(name[i:], "/") {
		m["tag"] = name[i+1:]
		name = name[:i]
	}
	reg := "docker.io"
	if first, rest, ok := strings.Cut(name, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		reg, name = first, rest
	}
	if reg == "docker.io" && !strings.Contains(name, "/") {
		name = "library/" + name
	}
	if reg == "index.docker.io" || reg == "registry-1.docker.io" {
		reg = "docker.io"
	}
	m["registry"] = strings.ToLower(reg)
	m["repository"] = name
	if m["tag"] == "" && m["digest"] == "" {
		m["tag"] = "latest"
	}
	return m
}

func isHexID(s string) bool {
	if len(s) < 12 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
