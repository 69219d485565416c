// Package dpkgfiles registers the analyzer that reads dpkg's per-package
// file lists (/var/lib/dpkg/info/<pkg>[:arch].list), so that software a Debian
// package installed (python3-requests' metadata, a jar from liblog4j2-java)
// is marked as owned by it rather than reported as a stray install.
package dpkgfiles

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/picket-cdr/picket/internal/analyzer"
)

// Name of the analyzer.
const Name = "dpkgfiles"

const (
	infoDir = "/var/lib/dpkg/info/"
	maxSize = 64 << 20 // a .list file of 64 MiB is already absurd
)

func init() { analyzer.Register(dpkgFiles{}) }

type dpkgFiles struct{}

func (dpkgFiles) Name() string { return Name }
func (dpkgFiles) Version() int { return 1 }

func (dpkgFiles) Required(p string, info fs.FileInfo) bool {
	return strings.HasPrefix(p, infoDir) && strings.HasSuffix(p, ".list") &&
		!strings.Contains(p[len(infoDir):], "/") && info.Size() <= maxSize
}

func (dpkgFiles) Analyze(_ context.Context, in *analyzer.Input) (*analyzer.Result, error) {
	pkg := strings.TrimSuffix(path.Base(in.Path), ".list")
	pkg, _, _ = strings.Cut(pkg, ":") // drop ":amd64"
	if pkg == "" {
		return nil, fmt.Errorf("dpkgfiles: %s: no package name", in.Path)
	}
	var paths []string
	sc := bufio.NewScanner(in.Content)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line == "/." || !strings.HasPrefix(line, "/") {
			continue
		}
		paths = append(paths, path.Clean(line))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("dpkgfiles: %s: %w", in.Path, err)
	}
	if len(paths) == 0 {
		return &analyzer.Result{}, nil
	}
	return &analyzer.Result{Owned: []analyzer.Ownership{{Owner: "deb:" + pkg, Paths: paths}}}, nil
}
