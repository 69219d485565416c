// Package config gives every command the same precedence for its settings:
// a flag on the command line wins, then an environment variable
// PICKET_<FLAG> (upper case, dashes as underscores), then the config file,
// then the flag's default. The config file is YAML; a command's settings
// sit under its path ("scan: image: format: json") or at the top level for
// settings shared by all commands ("log-level: debug").
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// EnvPrefix prefixes environment variables.
const EnvPrefix = "PICKET_"

// File is a parsed config file.
type File struct {
	Path string
	data map[string]any
}

// DefaultPath returns $XDG_CONFIG_HOME/picket/config.yaml (or the OS
// equivalent).
func DefaultPath() string {
	d, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "picket", "config.yaml")
}

// Load reads the config file at p. A missing file at the default path is
// not an error (an empty config is returned); a missing file the user named
// explicitly is.
func Load(p string, explicit bool) (*File, error) {
	f := &File{Path: p, data: map[string]any{}}
	if p == "" {
		return f, nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !explicit {
			return f, nil
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := yaml.Unmarshal(b, &f.data); err != nil {
		return nil, fmt.Errorf("config: %s: %w", p, err)
	}
	if f.data == nil {
		f.data = map[string]any{}
	}
	return f, nil
}

// lookup finds key under the command path (most specific first), then at
// the top level.
func (f *File) lookup(cmdPath []string, key string) (any, bool) {
	for n := len(cmdPath); n >= 0; n-- {
		m := f.data
		ok := true
		for _, part := range cmdPath[:n] {
			sub, isMap := m[part].(map[string]any)
			if !isMap {
				ok = false
				break
			}
			m = sub
		}
		if !ok {
			continue
		}
		if v, found := m[key]; found {
			if _, isMap := v.(map[string]any); !isMap {
				return v, true
			}
		}
	}
	return nil, false
}

// Apply sets every flag not given on the command line from the environment
// or the config file. cmdPath is the command's path below the root
// (["scan", "image"]).
func Apply(fs *pflag.FlagSet, cmdPath []string, f *File) error {
	var errs []error
	fs.VisitAll(func(fl *pflag.Flag) {
		if fl.Changed || fl.Name == "help" || fl.Name == "config" {
			return
		}
		env := EnvPrefix + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if err := fs.Set(fl.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("config: %s=%q: %w", env, v, err))
			}
			return
		}
		if f == nil {
			return
		}
		v, ok := f.lookup(cmdPath, fl.Name)
		if !ok {
			return
		}
		for _, s := range values(v) {
			if err := fs.Set(fl.Name, s); err != nil {
				errs = append(errs, fmt.Errorf("config: %s: %s: %w", f.Path, fl.Name, err))
				return
			}
		}
	})
	return errors.Join(errs...)
}

// values renders a YAML value as flag strings; lists set slice flags item
// by item.
func values(v any) []string {
	if l, ok := v.([]any); ok {
		out := make([]string, 0, len(l))
		for _, x := range l {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}
