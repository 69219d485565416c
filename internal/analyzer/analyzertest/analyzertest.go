// Package analyzertest helps analyzer packages test themselves: it runs an
// analyzer on in-memory content the way the walker does, and drives fuzz
// targets that check analyzers never panic or hang on hostile files.
package analyzertest

import (
	"bytes"
	"context"
	"io/fs"
	"path"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/analyzer"
)

// Info is an fs.FileInfo for test content.
type Info struct {
	Path   string
	Length int64
	FMode  fs.FileMode
}

func (i Info) Name() string       { return path.Base(i.Path) }
func (i Info) Size() int64        { return i.Length }
func (i Info) Mode() fs.FileMode  { return i.FMode }
func (i Info) ModTime() time.Time { return time.Time{} }
func (i Info) IsDir() bool        { return false }
func (i Info) Sys() any           { return nil }

// Input builds the analyzer input for content at p with mode.
func Input(p string, content []byte, mode fs.FileMode) *analyzer.Input {
	return &analyzer.Input{
		Path:    p,
		Info:    Info{Path: p, Length: int64(len(content)), FMode: mode},
		Content: bytes.NewReader(content),
	}
}

// Run checks that a wants the file and analyses it.
func Run(t testing.TB, a analyzer.Analyzer, p string, content []byte) *analyzer.Result {
	t.Helper()
	in := Input(p, content, 0o755)
	if !a.Required(p, in.Info) {
		t.Fatalf("%s does not require %s", a.Name(), p)
	}
	res, err := a.Analyze(context.Background(), in)
	if err != nil {
		t.Fatalf("%s: Analyze(%s): %v", a.Name(), p, err)
	}
	if res == nil {
		res = &analyzer.Result{}
	}
	return res
}

// Fuzz runs a on fuzzed content at path p: errors are fine, panics and
// results without names are not.
func Fuzz(f *testing.F, a analyzer.Analyzer, p string, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := a.Analyze(ctx, Input(p, data, 0o755))
		if err != nil || res == nil {
			return
		}
		for _, pkg := range res.Packages {
			if pkg.Name == "" {
				t.Fatalf("package without a name from %q", data)
			}
		}
	})
}
