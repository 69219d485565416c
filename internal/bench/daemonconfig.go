package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
)

// DefaultDaemonJSON is where dockerd reads its configuration file unless
// --config-file says otherwise.
const DefaultDaemonJSON = "/etc/docker/daemon.json"

// maxDaemonJSON bounds the configuration file read (a real one is a few
// hundred bytes).
const maxDaemonJSON = 1 << 20

// DaemonProcess is the running dockerd as seen in /proc.
type DaemonProcess struct {
	PID  int      `json:"pid"`
	UID  int      `json:"uid"`
	Args []string `json:"args"` // argv, argv[0] included
}

// Setting is one daemon setting and where it came from.
type Setting struct {
	Values []string
	Source string // "flag" or the daemon.json path
}

// DaemonConfig is the daemon's configuration from its command line and its
// configuration file, merged the way dockerd merges them: each setting comes
// from one of the two. dockerd refuses to start when a directive is given in
// both; such directives are listed in Conflicts (a daemon started before the
// file was edited can be in that state) and the flag's value is used, as it
// is the one the running daemon was given.
type DaemonConfig struct {
	Process    *DaemonProcess // nil when no dockerd process was found
	ProcessErr error          // why /proc could not be searched
	File       string         // daemon.json path on the host
	FileFound  bool
	FileErr    error // unreadable or invalid daemon.json
	Conflicts  []string
	settings   map[string]Setting
}

// Get returns the last value of key ("icc", "log-level", ...; daemon.json
// names).
func (d *DaemonConfig) Get(key string) (string, bool) {
	s, ok := d.settings[key]
	if !ok || len(s.Values) == 0 {
		return "", false
	}
	return s.Values[len(s.Values)-1], true
}

// All returns every value of a list setting.
func (d *DaemonConfig) All(key string) []string { return d.settings[key].Values }

// Bool returns a boolean setting; set is false when it is absent (the
// caller applies dockerd's default) or not a boolean.
func (d *DaemonConfig) Bool(key string) (val, set bool) {
	v, ok := d.Get(key)
	if !ok {
		return false, false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, false
	}
	return b, true
}

// Describe renders key's values and source for details ("icc=false
// (daemon.json /etc/docker/daemon.json)").
func (d *DaemonConfig) Describe(key string) string {
	s, ok := d.settings[key]
	if !ok {
		return key + " not set"
	}
	src := "command line"
	if s.Source != "flag" {
		src = s.Source
	}
	for _, c := range d.Conflicts {
		if strings.HasPrefix(c, key+": ") {
			src += "; also set in " + d.File + ", which makes dockerd refuse to start: " + c
		}
	}
	return fmt.Sprintf("%s=%s (%s)", key, strings.Join(s.Values, ","), src)
}

// Sources explains where the configuration was read, for details of checks
// that found a setting absent.
func (d *DaemonConfig) Sources() string {
	var parts []string
	switch {
	case d.Process != nil:
		parts = append(parts, fmt.Sprintf("dockerd pid %d command line", d.Process.PID))
	case d.ProcessErr != nil:
		parts = append(parts, "no dockerd command line ("+d.ProcessErr.Error()+")")
	default:
		parts = append(parts, "no dockerd process found")
	}
	switch {
	case d.FileErr != nil:
		parts = append(parts, d.FileErr.Error())
	case d.FileFound:
		parts = append(parts, d.File)
	default:
		parts = append(parts, d.File+" absent")
	}
	return "read from " + strings.Join(parts, " and ")
}

// flagKeys maps dockerd flags whose daemon.json key differs.
var flagKeys = map[string]string{
	"H": "hosts", "host": "hosts",
	"l": "log-level", "D": "debug", "G": "group", "p": "pidfile", "b": "bridge",
	"s": "storage-driver", "g": "data-root", "graph": "data-root",
	"insecure-registry":                "insecure-registries",
	"storage-opt":                      "storage-opts",
	"authorization-plugin":             "authorization-plugins",
	"default-ulimit":                   "default-ulimits",
	"log-opt":                          "log-opts",
	"label":                            "labels",
	"exec-opt":                         "exec-opts",
	"dns-opt":                          "dns-opts",
	"registry-mirror":                  "registry-mirrors",
	"add-runtime":                      "runtimes",
	"default-address-pool":             "default-address-pools",
	"node-generic-resource":            "node-generic-resources",
	"cluster-store-opt":                "cluster-store-opts",
	"feature":                          "features",
	"cdi-spec-dir":                     "cdi-spec-dirs",
	"allow-nondistributable-artifacts": "allow-nondistributable-artifacts",
}

// boolFlags take no separate value argument.
var boolFlags = map[string]bool{
	"icc": true, "iptables": true, "ip6tables": true, "ip-forward": true, "ip-masq": true,
	"ipv6": true, "live-restore": true, "no-new-privileges": true, "userland-proxy": true,
	"selinux-enabled": true, "tls": true, "tlsverify": true, "debug": true, "D": true,
	"experimental": true, "raw-logs": true, "rootless": true, "init": true, "validate": true,
	"version": true, "v": true, "help": true, "h": true, "disable-legacy-registry": true,
	"ip-forward-no-drop": true, "bridge-accept-fwmark": false,
}

// ParseDockerdArgs parses dockerd's arguments (without argv[0]) into
// settings keyed by their daemon.json names. Unknown flags are kept under
// their own name; positional arguments are returned as errors since dockerd
// takes none.
func ParseDockerdArgs(args []string) (map[string][]string, error) {
	out := map[string][]string{}
	var errs []error
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				errs = append(errs, fmt.Errorf("unexpected arguments %q", args[i+1:]))
			}
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			errs = append(errs, fmt.Errorf("unexpected argument %q", a))
			continue
		}
		var name, val string
		hasVal := false
		if strings.HasPrefix(a, "--") {
			name, val, hasVal = strings.Cut(a[2:], "=")
		} else {
			// Shorthand: -H x, -H=x, -Hx.
			body := a[1:]
			name = body[:1]
			rest := body[1:]
			switch {
			case strings.HasPrefix(rest, "="):
				val, hasVal = rest[1:], true
			case rest != "" && !boolFlags[name]:
				val, hasVal = rest, true
			case rest != "":
				errs = append(errs, fmt.Errorf("unsupported combined shorthand flags %q", a))
				continue
			}
		}
		if name == "" {
			errs = append(errs, fmt.Errorf("malformed flag %q", a))
			continue
		}
		if boolFlags[name] {
			if !hasVal {
				val = "true"
			}
		} else if !hasVal {
			if i+1 >= len(args) {
				errs = append(errs, fmt.Errorf("flag %q needs a value", a))
				continue
			}
			i++
			val = args[i]
		}
		key := name
		if k, ok := flagKeys[name]; ok {
			key = k
		}
		out[key] = append(out[key], val)
	}
	return out, errors.Join(errs...)
}

// ParseDaemonJSON parses a daemon.json document into settings: scalars as
// their text, arrays as one value per element, objects as sorted "k=v"
// entries (log-opts, default-ulimits). It rejects anything that is not a
// single JSON object, as dockerd does.
func ParseDaemonJSON(b []byte) (map[string][]string, error) {
	if len(b) > maxDaemonJSON {
		return nil, fmt.Errorf("larger than %d bytes", maxDaemonJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if doc == nil {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	out := make(map[string][]string, len(doc))
	for k, v := range doc {
		out[k] = flatten(v)
	}
	return out, nil
}

func flatten(v any) []string {
	switch t := v.(type) {
	case nil:
		return nil
	case string:
		return []string{t}
	case bool:
		return []string{strconv.FormatBool(t)}
	case json.Number:
		return []string{t.String()}
	case []any:
		var out []string
		for _, e := range t {
			switch e.(type) {
			case map[string]any, []any:
				b, _ := json.Marshal(e)
				out = append(out, string(b))
			default:
				out = append(out, flatten(e)...)
			}
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]string, 0, len(keys))
		for _, k := range keys {
			switch e := t[k].(type) {
			case map[string]any, []any:
				b, _ := json.Marshal(e)
				out = append(out, k+"="+string(b))
			default:
				out = append(out, k+"="+strings.Join(flatten(e), ","))
			}
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}

// MergeDaemonConfig merges command-line settings and daemon.json settings.
func MergeDaemonConfig(flags, file map[string][]string, fileName string) (map[string]Setting, []string) {
	out := map[string]Setting{}
	var conflicts []string
	for k, v := range file {
		out[k] = Setting{Values: v, Source: fileName}
	}
	for k, v := range flags {
		if f, ok := file[k]; ok && k != "config-file" {
			conflicts = append(conflicts, fmt.Sprintf("%s: command line %q, %s %q", k, strings.Join(v, ","), fileName, strings.Join(f, ",")))
		}
		out[k] = Setting{Values: v, Source: "flag"}
	}
	sort.Strings(conflicts)
	return out, conflicts
}

// loadDaemonConfig finds dockerd in root/proc and reads its configuration
// file below root.
func loadDaemonConfig(root string) *DaemonConfig {
	d := &DaemonConfig{File: DefaultDaemonJSON}
	var flags map[string][]string
	p, err := findProcess(root, "dockerd")
	switch {
	case err != nil:
		d.ProcessErr = err
	case p != nil:
		d.Process = p
		f, perr := ParseDockerdArgs(p.Args[1:])
		flags = f
		if perr != nil {
			d.Conflicts = append(d.Conflicts, "command line: "+perr.Error())
		}
		if cf := f["config-file"]; len(cf) > 0 {
			d.File = cf[len(cf)-1]
		} else if p.UID > 0 {
			// Rootless dockerd reads ~/.config/docker/daemon.json.
			if home := homeOf(root, p.UID); home != "" {
				d.File = path.Join(home, ".config/docker/daemon.json")
			}
		}
	}
	var file map[string][]string
	b, err := readFileIn(root, d.File, maxDaemonJSON+1)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		d.FileErr = fmt.Errorf("%s: %w", d.File, err)
	default:
		d.FileFound = true
		file, err = ParseDaemonJSON(b)
		if err != nil {
			d.FileErr = fmt.Errorf("%s: %w", d.File, err)
			file = nil
		}
	}
	var conflicts []string
	d.settings, conflicts = MergeDaemonConfig(flags, file, d.File)
	d.Conflicts = append(d.Conflicts, conflicts...)
	return d
}

// findProcess returns the lowest-pid process whose comm is name, from
// root/proc. It returns nil, nil when there is none.
func findProcess(root, name string) (*DaemonProcess, error) {
	procDir := joinRoot(root, "/proc")
	ents, err := os.ReadDir(procDir)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", procDir, err)
	}
	best := -1
	var bestArgs []string
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || pid <= 0 {
			continue
		}
		comm, err := os.ReadFile(path.Join(procDir, ent.Name(), "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		cl, err := os.ReadFile(path.Join(procDir, ent.Name(), "cmdline"))
		if err != nil || len(cl) == 0 {
			continue
		}
		if best < 0 || pid < best {
			best = pid
			bestArgs = strings.Split(strings.TrimRight(string(cl), "\x00"), "\x00")
		}
	}
	if best < 0 {
		return nil, nil
	}
	p := &DaemonProcess{PID: best, Args: bestArgs, UID: -1}
	if st, err := os.ReadFile(path.Join(procDir, strconv.Itoa(best), "status")); err == nil {
		for _, line := range strings.Split(string(st), "\n") {
			if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
				if f := strings.Fields(rest); len(f) > 0 {
					if u, err := strconv.Atoi(f[0]); err == nil {
						p.UID = u
					}
				}
			}
		}
	}
	return p, nil
}
