package scan

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/bits"
	"os"
	"path"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/layer"
)

// LayerResult is everything learned from one layer on its own. It depends
// only on the layer's bytes and the analyzer set, so it is cached by diff id.
type LayerResult struct {
	Table *layer.Table
	// Files maps a path in this layer to what each analyzer found there.
	Files map[string][]FileResult
	Stats LayerStats
}

// FileResult is one analyzer's result for one file.
type FileResult struct {
	Analyzer string
	Result   analyzer.Result
}

// LayerStats counts per-layer work.
type LayerStats struct {
	Analyzed       int
	TooLarge       int
	TooLargeSample []string
	Errors         int
	ErrorSamples   []string
}

const maxSamples = 10

// fileInfo adapts a layer entry to fs.FileInfo for analyzers.
type fileInfo struct{ e *layer.Entry }

func (f fileInfo) Name() string       { return path.Base(f.e.Path) }
func (f fileInfo) Size() int64        { return f.e.Size }
func (f fileInfo) Mode() fs.FileMode  { return f.e.FileMode() }
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return f.e.Type == layer.TypeDir }
func (f fileInfo) Sys() any           { return f.e }

// spooledFile is file content in memory or, above the spill size, in a
// temporary file that is removed once analysed.
type spooledFile struct {
	*os.File
	size int64
}

func (s spooledFile) Size() int64 { return s.size }

// memContent is file content held in memory; analyzers reach the bytes
// through analyzer.Bytes without copying them.
type memContent struct {
	*bytes.Reader
	b []byte
}

func (m memContent) Bytes() []byte { return m.b }

// layerAnalysis runs the analyzers over one layer's stream.
type layerAnalysis struct {
	s     *Scanner
	res   *LayerResult
	mu    sync.Mutex
	links []layer.Entry // hardlinks whose paths an analyzer wanted
	g     *errgroup.Group
	mem   *semaphore.Weighted
}

func (s *Scanner) analyzeLayer(ctx context.Context, r io.Reader, diffID string, onBytes func(int64)) (*LayerResult, error) {
	la := &layerAnalysis{
		s:   s,
		res: &LayerResult{Files: map[string][]FileResult{}},
		mem: s.mem,
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Workers)
	la.g = g
	var counted io.Reader = r
	if onBytes != nil {
		counted = &progressReader{r: r, fn: onBytes}
	}
	table, werr := layer.Walk(gctx, counted, la.visit, layer.Options{
		MaxBytes:   s.opts.MaxLayerBytes,
		MaxEntries: s.opts.MaxLayerEntries,
		DiffID:     diffID,
	})
	gerr := g.Wait()
	if werr != nil {
		return nil, werr
	}
	if gerr != nil {
		return nil, gerr
	}
	la.res.Table = table
	la.copyHardlinks()
	return la.res, nil
}

// required lists the analyzers that want the file.
func (la *layerAnalysis) required(e *layer.Entry) []analyzer.Analyzer {
	var out []analyzer.Analyzer
	info := fileInfo{e}
	for _, a := range la.s.analyzers {
		if a.Required(e.Path, info) {
			out = append(out, a)
		}
	}
	return out
}

func (la *layerAnalysis) visit(ctx context.Context, e *layer.Entry, r io.Reader) error {
	as := la.required(e)
	if len(as) == 0 {
		return nil
	}
	if r == nil { // hardlink: its content is the target's, analysed already
		la.links = append(la.links, *e)
		return nil
	}
	if e.Size > la.s.opts.MaxFileSize {
		la.mu.Lock()
		la.res.Stats.TooLarge++
		if len(la.res.Stats.TooLargeSample) < maxSamples {
			la.res.Stats.TooLargeSample = append(la.res.Stats.TooLargeSample, e.Path)
		}
		la.mu.Unlock()
		return nil
	}
	weight := int64(4096) // a spooled file's copy buffer
	if e.Size <= la.s.opts.SpillSize {
		weight = int64(1) << contentClass(e.Size) // the pooled buffer it is read into
	}
	if err := la.mem.Acquire(ctx, weight); err != nil {
		return err
	}
	content, cleanup, err := la.read(e, r)
	if err != nil {
		la.mem.Release(weight)
		return err
	}
	entry := *e
	la.g.Go(func() error {
		defer la.mem.Release(weight)
		defer cleanup()
		la.run(ctx, &entry, as, content)
		return nil
	})
	return nil
}

// read buffers a file's content: in memory up to the spill size, in a
// temporary file beyond it (random access is needed by archive and binary
// parsers; bounded memory is needed by everyone).
func (la *layerAnalysis) read(e *layer.Entry, r io.Reader) (analyzer.Content, func(), error) {
	if e.Size <= la.s.opts.SpillSize {
		buf, release := getContentBuffer(e.Size)
		if _, err := io.ReadFull(r, buf); err != nil {
			release()
			return nil, nil, fmt.Errorf("scan: %w: %s: %v", layer.ErrCorrupt, e.Path, err)
		}
		return memContent{Reader: bytes.NewReader(buf), b: buf}, release, nil
	}
	f, err := os.CreateTemp(la.s.opts.TempDir, "picket-spill-*")
	if err != nil {
		return nil, nil, fmt.Errorf("scan: spill: %w", err)
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	n, err := io.Copy(f, io.LimitReader(r, e.Size))
	if err != nil || n != e.Size {
		cleanup()
		return nil, nil, fmt.Errorf("scan: %w: %s: short read (%d of %d bytes): %v", layer.ErrCorrupt, e.Path, n, e.Size, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("scan: spill: %w", err)
	}
	return spooledFile{File: f, size: e.Size}, cleanup, nil
}

// run hands one file to each analyzer that wanted it, one after another
// (they share the content's read position).
func (la *layerAnalysis) run(ctx context.Context, e *layer.Entry, as []analyzer.Analyzer, c analyzer.Content) {
	in := &analyzer.Input{Path: e.Path, Info: fileInfo{e}, Content: c}
	lits := la.s.searchLiterals(ctx, as, c)
	var results []FileResult
	var errs []string
	for i, a := range as {
		in.Literals = nil
		if lits != nil {
			in.Literals = lits[i]
		}
		if _, err := c.Seek(0, io.SeekStart); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %s: %v", a.Name(), e.Path, err))
			continue
		}
		res, err := safeAnalyze(ctx, a, in)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if !res.Empty() {
			results = append(results, FileResult{Analyzer: a.Name(), Result: *res})
		}
	}
	la.mu.Lock()
	defer la.mu.Unlock()
	la.res.Stats.Analyzed++
	if len(results) > 0 {
		la.res.Files[e.Path] = results
	}
	la.res.Stats.Errors += len(errs)
	for _, m := range errs {
		if len(la.res.Stats.ErrorSamples) < maxSamples {
			la.res.Stats.ErrorSamples = append(la.res.Stats.ErrorSamples, m)
		}
	}
}

func safeAnalyze(ctx context.Context, a analyzer.Analyzer, in *analyzer.Input) (res *analyzer.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("%s: panic on %s: %v", a.Name(), in.Path, r)
		}
	}()
	res, err = a.Analyze(ctx, in)
	if err == nil && res == nil {
		res = &analyzer.Result{}
	}
	return res, err
}

// copyHardlinks gives hardlinks the results of the file they link to.
func (la *layerAnalysis) copyHardlinks() {
	for _, l := range la.links {
		src, ok := la.res.Files[l.Link]
		if !ok {
			continue
		}
		cp := make([]FileResult, len(src))
		for i, fr := range src {
			cp[i] = FileResult{Analyzer: fr.Analyzer, Result: fr.Result}
			cp[i].Result.Packages = nil
			for _, p := range fr.Result.Packages {
				q := *p
				if q.Path == l.Link {
					q.Path = l.Path
				}
				cp[i].Result.Packages = append(cp[i].Result.Packages, &q)
			}
			cp[i].Result.Findings = nil
			for _, f := range fr.Result.Findings {
				if f.Severity == finding.Info {
					continue // one informational note per inode is enough
				}
				g := *f
				if g.Location.Path == l.Link {
					g.Location.Path = l.Path
				}
				cp[i].Result.Findings = append(cp[i].Result.Findings, &g)
			}
		}
		la.res.Files[l.Path] = cp
	}
}

type progressReader struct {
	r  io.Reader
	fn func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.fn(int64(n))
	}
	return n, err
}

// Content buffers are recycled through pools by power-of-two size class
// (4 KiB up to the largest spill size): reading every file of a layer
// into fresh memory cost more in allocation, zeroing and page faults than
// some analyzers cost. Analyzers only read content during Analyze and
// results hold no []byte, so a buffer is free once its file is analysed.
const minContentClass = 12 // 4 KiB

var contentPools [40]sync.Pool

// contentClass is the pool class of an n-byte file.
func contentClass(n int64) int {
	return max(bits.Len64(uint64(max(n-1, 0))), minContentClass)
}

func getContentBuffer(n int64) ([]byte, func()) {
	class := contentClass(n)
	if class >= len(contentPools) {
		return make([]byte, n), func() {}
	}
	p := &contentPools[class]
	bp, _ := p.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, 1<<class)
		bp = &b
	}
	return (*bp)[:n], func() { p.Put(bp) }
}
