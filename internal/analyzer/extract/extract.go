// Package extract adapts osv-scalibr filesystem extractors to Picket's
// analyzer contract, so that package inventory uses scalibr's maintained
// parsers while Picket's walker decides what is read and when. scalibr's
// types stop here: results are converted into inventory.Package.
package extract

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing/fstest"

	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	scalibrfs "github.com/google/osv-scalibr/fs"
	scalibrlog "github.com/google/osv-scalibr/log"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/inventory"
)

// Converter fills ecosystem-specific fields of out from a scalibr package.
type Converter func(in *extractor.Package, out *inventory.Package)

// Adapter is an analyzer.Analyzer backed by a scalibr extractor.
type Adapter struct {
	name      string
	version   int
	ex        filesystem.Extractor
	ecosystem inventory.Ecosystem
	convert   Converter
	required  func(path string, info fs.FileInfo) bool
}

// Option configures an Adapter.
type Option func(*Adapter)

// WithConverter sets the function that copies ecosystem-specific metadata.
func WithConverter(c Converter) Option { return func(a *Adapter) { a.convert = c } }

// WithRequired narrows (never widens) the extractor's own FileRequired.
func WithRequired(fn func(path string, info fs.FileInfo) bool) Option {
	return func(a *Adapter) { a.required = fn }
}

// New wraps ex. version is Picket's version of the adapter and converter;
// the extractor's own version is folded in, so a scalibr upgrade that
// changes an extractor invalidates cached results.
func New(name string, version int, eco inventory.Ecosystem, ex filesystem.Extractor, opts ...Option) *Adapter {
	a := &Adapter{name: name, version: version, ex: ex, ecosystem: eco}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Name implements analyzer.Analyzer.
func (a *Adapter) Name() string { return a.name }

// Version implements analyzer.Analyzer.
func (a *Adapter) Version() int { return a.version*1000 + a.ex.Version() }

// Required implements analyzer.Analyzer.
func (a *Adapter) Required(p string, info fs.FileInfo) bool {
	if a.required != nil && !a.required(p, info) {
		return false
	}
	return a.ex.FileRequired(fileAPI{path: rel(p), info: info})
}

// Analyze implements analyzer.Analyzer.
func (a *Adapter) Analyze(ctx context.Context, in *analyzer.Input) (res *analyzer.Result, err error) {
	defer func() {
		// scalibr's parsers are well tested but the input is hostile: a
		// panic in one must not take the scan down.
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("extract: %s: panic on %s: %v", a.name, in.Path, r)
		}
	}()
	if _, err := in.Content.Seek(0, 0); err != nil {
		return nil, fmt.Errorf("extract: %s: %w", a.name, err)
	}
	si := &filesystem.ScanInput{
		// Extractors only get the file itself: facts from other files (the
		// distro from os-release) are joined after layers are merged, so
		// results depend on this file alone and cache per layer.
		FS:     scalibrfs.FS(fstest.MapFS{}),
		Path:   rel(in.Path),
		Root:   "",
		Info:   in.Info,
		Reader: in.Content,
	}
	inv, err := a.ex.Extract(ctx, si)
	if err != nil {
		return nil, fmt.Errorf("extract: %s: %s: %w", a.name, in.Path, err)
	}
	out := &analyzer.Result{}
	for _, p := range inv.Packages {
		if p == nil || p.Name == "" {
			continue
		}
		pkg := &inventory.Package{
			Name:      p.Name,
			Version:   p.Version,
			Ecosystem: a.ecosystem,
			Path:      in.Path,
			Analyzer:  a.name,
			Licenses:  p.Licenses,
		}
		if loc := p.Location.PathOrEmpty(); loc != "" && loc != si.Path {
			// Nested artifacts (a jar inside a war) keep their inner path.
			pkg.Path = "/" + strings.TrimPrefix(loc, "/")
		}
		if u := p.PURL(); u != nil {
			pkg.PURL = u.String()
		}
		if a.convert != nil {
			a.convert(p, pkg)
		}
		out.Packages = append(out.Packages, pkg)
	}
	return out, nil
}

// rel turns Picket's clean absolute paths into scalibr's root-relative ones.
func rel(p string) string { return strings.TrimPrefix(p, "/") }

type fileAPI struct {
	path string
	info fs.FileInfo
}

func (f fileAPI) Path() string               { return f.path }
func (f fileAPI) Stat() (fs.FileInfo, error) { return f.info, nil }

// NewFunc is the constructor every scalibr filesystem extractor exports.
type NewFunc func(cfg *cpb.PluginConfig) (filesystem.Extractor, error)

// maxExtractorFileSize lifts scalibr's own per-extractor size limits: the
// walker applies Picket's limit before a file ever reaches an extractor.
const maxExtractorFileSize = 1 << 40

var silenceOnce sync.Once

// MustNew builds the extractor with newFn and wraps it. It panics if the
// extractor cannot be built, which only a programming error causes.
func MustNew(name string, version int, eco inventory.Ecosystem, newFn NewFunc, opts ...Option) *Adapter {
	silenceOnce.Do(func() { scalibrlog.SetLogger(quietLogger{}) })
	ex, err := newFn(&cpb.PluginConfig{MaxFileSizeBytes: maxExtractorFileSize})
	if err != nil {
		panic(fmt.Sprintf("extract: build %s: %v", name, err))
	}
	return New(name, version, eco, ex, opts...)
}

// quietLogger drops scalibr's logging: a library must not write to the
// user's terminal, and every error that matters is returned to Picket.
type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Error(...any)          {}
func (quietLogger) Warn(...any)           {}
func (quietLogger) Info(...any)           {}
func (quietLogger) Debug(...any)          {}
