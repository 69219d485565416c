// Package scan drives an image scan: it reads every layer once as a stream,
// hands the files that analyzers asked for to them in parallel with bounded
// memory, caches each layer's results by diff id, merges the layers into the
// final filesystem and assembles the package inventory and findings.
package scan

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/cache"
	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/layer"
	"github.com/picket-cdr/picket/internal/report"
	"github.com/picket-cdr/picket/internal/vulndb"
)

// Defaults for Options.
const (
	DefaultMaxFileSize  int64 = 512 << 20
	DefaultSpillSize    int64 = 16 << 20
	DefaultMemoryBudget int64 = 128 << 20
)

// Options configure a Scanner.
type Options struct {
	Analyzers       []analyzer.Analyzer // default: every registered analyzer
	ImageAnalyzers  []analyzer.ImageAnalyzer
	ImageLimits     analyzer.Limits // thresholds for image-level checks
	Cache           *cache.Store    // nil disables caching
	Workers         int             // files analysed at once; default GOMAXPROCS
	Parallel        int             // layers read at once (random-access sources); default 2
	MaxFileSize     int64           // larger files are skipped and counted
	SpillSize       int64           // larger files are spooled to TempDir instead of memory
	MemoryBudget    int64           // bytes of file content in flight
	MaxLayerBytes   int64           // uncompressed bytes per layer (decompression bombs)
	MaxLayerEntries int             // entries per layer
	TempDir         string
	Logger          *slog.Logger
	// Progress, when set, is told about layers and bytes as they are read.
	Progress func(Progress)
	// Version of the tool, for reports.
	Version string
	// VulnDB, when set, is matched against the inventory.
	VulnDB     *vulndb.DB
	VulnMaxAge time.Duration
}

// Progress is a snapshot of a running scan.
type Progress struct {
	LayersDone, LayersTotal int
	Bytes                   int64
}

// Option sets one field of Options.
type Option func(*Options)

// WithCache sets the layer cache.
func WithCache(c *cache.Store) Option { return func(o *Options) { o.Cache = c } }

// WithAnalyzers restricts the analyzers.
func WithAnalyzers(as []analyzer.Analyzer) Option { return func(o *Options) { o.Analyzers = as } }

// WithImageAnalyzers restricts the image analyzers.
func WithImageAnalyzers(as []analyzer.ImageAnalyzer) Option {
	return func(o *Options) { o.ImageAnalyzers = as }
}

// WithImageLimits sets the thresholds of image-level checks.
func WithImageLimits(l analyzer.Limits) Option { return func(o *Options) { o.ImageLimits = l } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }

// WithProgress sets the progress callback.
func WithProgress(fn func(Progress)) Option { return func(o *Options) { o.Progress = fn } }

// WithMaxFileSize sets the per-file size limit.
func WithMaxFileSize(n int64) Option { return func(o *Options) { o.MaxFileSize = n } }

// WithLimits sets the per-layer limits.
func WithLimits(maxBytes int64, maxEntries int) Option {
	return func(o *Options) { o.MaxLayerBytes, o.MaxLayerEntries = maxBytes, maxEntries }
}

// WithVersion sets the tool version written into reports.
func WithVersion(v string) Option { return func(o *Options) { o.Version = v } }

// WithWorkers sets the number of files analysed at once.
func WithWorkers(n int) Option { return func(o *Options) { o.Workers = n } }

// Scanner scans images. It is safe for concurrent use.
type Scanner struct {
	opts      Options
	analyzers []analyzer.Analyzer
	mem       *semaphore.Weighted
	cacheKey  string
	// literalSets caches one automaton per group of analyzers that search
	// ELF files for literals (see searchLiterals).
	literalSets sync.Map
	prepared    sync.Once
}

// prepare starts the analyzers' costly set-up (analyzer.Preparer) in the
// background, once per Scanner.
func (s *Scanner) prepare() {
	s.prepared.Do(func() {
		for _, a := range s.analyzers {
			if p, ok := a.(analyzer.Preparer); ok {
				go p.Prepare()
			}
		}
	})
}

// New returns a Scanner.
func New(opts ...Option) *Scanner {
	o := Options{}
	for _, fn := range opts {
		fn(&o)
	}
	if o.Analyzers == nil {
		o.Analyzers = analyzer.All()
	}
	if o.ImageAnalyzers == nil {
		o.ImageAnalyzers = analyzer.AllImage()
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	if o.SpillSize <= 0 {
		o.SpillSize = DefaultSpillSize
	}
	// The budget must hold the largest content buffer (a power of two).
	if largest := int64(1) << contentClass(o.SpillSize); o.MemoryBudget < largest {
		o.MemoryBudget = max(DefaultMemoryBudget, largest)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	s := &Scanner{opts: o, analyzers: o.Analyzers, mem: semaphore.NewWeighted(o.MemoryBudget)}
	// Everything that changes a layer's results goes into the cache key.
	s.cacheKey = fmt.Sprintf("%s|maxfile=%d", analyzer.Fingerprint(o.Analyzers), o.MaxFileSize)
	return s
}

func (s *Scanner) key(diffID string) string { return diffID + "|" + s.cacheKey }

// configKey stores image configs (content-addressed by image id) beside the
// layers, so a fully cached image need not be read at all.
func configKey(imageID string) string { return "config|" + imageID }

// Scan opens ref and scans it.
func (s *Scanner) Scan(ctx context.Context, ref string, iopts image.Options) (*report.Report, error) {
	s.prepare()
	img, err := image.Open(ctx, ref, iopts)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	return s.ScanImage(ctx, img)
}

// ScanImage scans an opened image.
func (s *Scanner) ScanImage(ctx context.Context, img image.Image) (*report.Report, error) {
	s.prepare()
	start := time.Now()
	var (
		mu      sync.Mutex
		byKey   = map[string]*LayerResult{}
		fresh   = map[string]bool{}
		hit     = map[string]bool{}
		done    atomic.Int64
		read    atomic.Int64
		total   int
		cachedN int
	)
	if m, err := img.Metadata(); err == nil {
		total = len(m.Layers)
	}
	progress := func() {
		if s.opts.Progress != nil {
			s.opts.Progress(Progress{LayersDone: int(done.Load()), LayersTotal: total, Bytes: read.Load()})
		}
	}
	skip := func(l image.LayerInfo) bool {
		if s.opts.Cache == nil || l.DiffID == "" {
			return false
		}
		if r, ok := s.cached(l.DiffID); ok {
			mu.Lock()
			byKey[l.Key] = r
			hit[l.Key] = true
			cachedN++
			mu.Unlock()
			done.Add(1)
			progress()
			return true
		}
		return false
	}
	wopts := image.WalkOptions{Parallel: s.opts.Parallel, Skip: skip}
	if s.opts.Cache != nil {
		wopts.Cached = func(l image.LayerInfo) bool { return l.DiffID != "" && s.opts.Cache.Has(s.key(l.DiffID)) }
		wopts.Config = func(id string) []byte {
			b, ok, err := s.opts.Cache.Get(configKey(id))
			if err != nil || !ok {
				return nil
			}
			return b
		}
	}
	err := img.WalkLayers(ctx, wopts,
		func(ctx context.Context, l image.LayerInfo, r io.Reader) error {
			res, err := s.analyzeLayer(ctx, r, l.DiffID, func(n int64) {
				if read.Add(n)%(4<<20) < n {
					progress()
				}
			})
			if err != nil {
				return fmt.Errorf("scan: layer %s: %w", l.Key, err)
			}
			mu.Lock()
			byKey[l.Key] = res
			fresh[l.Key] = true
			mu.Unlock()
			done.Add(1)
			progress()
			return nil
		})
	if err != nil {
		return nil, err
	}
	meta, err := img.Metadata()
	if err != nil {
		return nil, err
	}
	results := make([]*LayerResult, len(meta.Layers))
	for i, l := range meta.Layers {
		r, ok := byKey[l.Key]
		if !ok {
			return nil, fmt.Errorf("scan: layer %d (%s) was not read", i, l.Key)
		}
		if l.DiffID != "" && r.Table.DiffID != l.DiffID {
			return nil, fmt.Errorf("scan: layer %d: %w: config says %s, content is %s", i, layer.ErrDigestMismatch, l.DiffID, r.Table.DiffID)
		}
		results[i] = r
		if fresh[l.Key] && s.opts.Cache != nil && meta.Source != image.RootFS {
			if err := s.store(r); err != nil {
				s.opts.Logger.Warn("layer cache write failed", "layer", r.Table.DiffID, "err", err)
			}
		}
	}
	if len(fresh) > 0 && s.opts.Cache != nil && meta.ID != "" && len(meta.RawConfig) > 0 {
		if err := s.opts.Cache.Put(configKey(meta.ID), meta.RawConfig); err != nil {
			s.opts.Logger.Warn("config cache write failed", "image", meta.ID, "err", err)
		}
	}
	rep, imgIn := s.assemble(meta, results)
	if err := s.analyzeImage(ctx, rep, imgIn); err != nil {
		return nil, err
	}
	for i, l := range meta.Layers {
		rep.Target.Layers[i].Cached = hit[l.Key]
	}
	rep.CreatedAt = start.UTC()
	if s.opts.VulnDB != nil {
		if err := s.matchVulns(ctx, rep); err != nil {
			return nil, err
		}
	}
	rep.Stats.LayersCached = cachedN
	rep.Stats.Duration = time.Since(start)
	return rep, nil
}

func (s *Scanner) cached(diffID string) (*LayerResult, bool) {
	b, ok, err := s.opts.Cache.Get(s.key(diffID))
	if err != nil {
		s.opts.Logger.Warn("layer cache read failed; re-analysing", "layer", diffID, "err", err)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	var r LayerResult
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&r); err != nil || r.Table == nil || r.Table.DiffID != diffID {
		s.opts.Logger.Warn("layer cache entry unusable; re-analysing", "layer", diffID, "err", err)
		return nil, false
	}
	return &r, true
}

func (s *Scanner) store(r *LayerResult) error {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(r); err != nil {
		return fmt.Errorf("scan: encode layer result: %w", err)
	}
	return s.opts.Cache.Put(s.key(r.Table.DiffID), buf.Bytes())
}

// createdBy pairs history entries with the non-empty layers they made.
func createdBy(meta *image.Metadata) []string {
	out := make([]string, len(meta.Layers))
	if meta.Config == nil {
		return out
	}
	i := 0
	for _, h := range meta.Config.History {
		if h.EmptyLayer {
			continue
		}
		if i >= len(out) {
			break
		}
		out[i] = strings.TrimSpace(strings.TrimPrefix(h.CreatedBy, "/bin/sh -c #(nop) "))
		i++
	}
	return out
}

// ErrNoLayers is returned for images without layers.
var ErrNoLayers = errors.New("scan: image has no layers")

func sortedKeys[M ~map[string]V, V any](m M) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
