// Package osrelease registers the analyzer that reads the files naming an
// image's operating system: /etc/os-release, /usr/lib/os-release,
// /etc/alpine-release, /etc/debian_version, /etc/redhat-release and
// /etc/lsb-release. Its facts are keyed "<path>:<KEY>" so the scan can pick
// the file that wins after symlinks are resolved on the merged filesystem.
package osrelease

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"

	"github.com/picket-cdr/picket/internal/analyzer"
)

// Name of the analyzer.
const Name = "osrelease"

// maxSize bounds what is read: these files are a few hundred bytes.
const maxSize = 64 << 10

// Files lists the paths the analyzer reads.
var Files = []string{
	"/etc/os-release", "/usr/lib/os-release", "/etc/alpine-release",
	"/etc/debian_version", "/etc/redhat-release", "/etc/lsb-release",
}

// ContentKey is the fact holding a whole single-line release file.
const ContentKey = "CONTENT"

func init() { analyzer.Register(osRelease{}) }

type osRelease struct{}

func (osRelease) Name() string { return Name }
func (osRelease) Version() int { return 1 }

func (osRelease) Required(p string, info fs.FileInfo) bool {
	for _, f := range Files {
		if p == f {
			return info.Size() <= maxSize
		}
	}
	return false
}

func (osRelease) Analyze(_ context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	b, err := io.ReadAll(io.LimitReader(in.Content, maxSize))
	if err != nil {
		return nil, fmt.Errorf("osrelease: %s: %w", in.Path, err)
	}
	facts := map[string]string{}
	switch in.Path {
	case "/etc/os-release", "/usr/lib/os-release", "/etc/lsb-release":
		for k, v := range Parse(string(b)) {
			facts[in.Path+":"+k] = v
		}
	default:
		facts[in.Path+":"+ContentKey] = strings.TrimSpace(firstLine(string(b)))
	}
	return &analyzer.Result{Facts: facts}, nil
}

// Parse reads the KEY=value format of os-release(5): comments and blank
// lines ignored, values optionally quoted with shell-style escapes.
func Parse(s string) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			continue
		}
		k = strings.TrimSpace(k)
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			if v[0] == '"' {
				if u, err := strconv.Unquote(v); err == nil {
					v = u
				} else {
					v = v[1 : len(v)-1]
				}
			} else {
				v = v[1 : len(v)-1]
			}
		}
		out[k] = v
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
