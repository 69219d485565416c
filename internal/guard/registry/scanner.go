package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/picket-cdr/picket/internal/analyzer/all" // the scanner's analyzers
	"github.com/picket-cdr/picket/internal/audit"
	"github.com/picket-cdr/picket/internal/cache"
	"github.com/picket-cdr/picket/internal/finding"
	"github.com/picket-cdr/picket/internal/image"
	"github.com/picket-cdr/picket/internal/report"
	"github.com/picket-cdr/picket/internal/scan"
	"github.com/picket-cdr/picket/internal/vulndb"
)

// ImageScanner scans one image reference ("registry:HOST/REPO@DIGEST").
type ImageScanner interface {
	Scan(ctx context.Context, ref string) (*report.Report, error)
}

// EngineScanner is Picket's own scanner (internal/scan), run in process
// with every analyzer, against the vulnerability database in DBDir, which
// is opened for each scan so that `picket db update` can replace it while
// the guard runs.
type EngineScanner struct {
	DBDir    string
	CacheDir string // layer cache; empty disables it
	// Insecure allows plain HTTP to the upstream (required for
	// non-loopback plain HTTP upstreams).
	Insecure bool
	Platform string
	Version  string
	Logger   *slog.Logger
	Workers  int
}

// Scan implements ImageScanner.
func (e *EngineScanner) Scan(ctx context.Context, ref string) (*report.Report, error) {
	opts := []scan.Option{scan.WithVersion(e.Version), scan.WithWorkers(e.Workers)}
	if e.Logger != nil {
		opts = append(opts, scan.WithLogger(e.Logger))
	}
	if e.DBDir != "" {
		db, err := vulndb.Open(e.DBDir)
		if err != nil {
			// Fail closed: a verdict without vulnerability data would
			// pass everything.
			return nil, fmt.Errorf("registry: scan: vulnerability database: %w", err)
		}
		defer db.Close()
		opts = append(opts, scan.WithVulnDB(db, 0))
	}
	if e.CacheDir != "" {
		store, err := cache.Open(e.CacheDir, 5*time.Second)
		if err == nil {
			defer store.Close()
			opts = append(opts, scan.WithCache(store))
		} else if e.Logger != nil {
			e.Logger.Warn("layer cache unusable; scanning without it", "dir", e.CacheDir, "err", err)
		}
	}
	return scan.New(opts...).Scan(ctx, ref, image.Options{Insecure: e.Insecure, Platform: e.Platform})
}

// DBState reports when the vulnerability database in DBDir was last
// updated (the newest source), so the guard can rescan when it changes.
func (e *EngineScanner) DBState() (string, error) {
	if e.DBDir == "" {
		return "", nil
	}
	db, err := vulndb.Open(e.DBDir)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var parts []string
	for _, s := range db.Sources() {
		parts = append(parts, fmt.Sprintf("%s@%s", s.Name, s.UpdatedAt.UTC().Format(time.RFC3339Nano)))
	}
	sort.Strings(parts)
	return fmt.Sprint(parts), nil
}

// VerdictFromReport summarises a scan report.
func VerdictFromReport(repo, digest string, rep *report.Report, now time.Time) *Verdict {
	v := &Verdict{Digest: digest, Repository: repo, ScannedAt: now.UTC(), Status: "scanned",
		Vulnerabilities: map[string]int{}, Kinds: map[string]int{}, Packages: len(rep.Packages)}
	if rep.VulnDB != nil {
		v.DBUpdatedAt = rep.VulnDB.UpdatedAt
		v.DBSources = rep.VulnDB.Sources
	}
	fs := append([]*finding.Finding(nil), rep.Findings...)
	sort.SliceStable(fs, func(i, j int) bool { return finding.Less(fs[i], fs[j]) })
	for _, f := range fs {
		v.Kinds[string(f.Kind)]++
		if f.Kind == finding.KindVulnerability {
			v.Vulnerabilities[f.Severity.String()]++
		}
		if len(v.Findings) < maxVerdictFindings {
			vf := VerdictFinding{Kind: string(f.Kind), Severity: f.Severity.String(), ID: f.RuleID, Title: f.Title}
			if len(f.Attributes) > 0 {
				vf.Attrs = f.Attributes
			}
			v.Findings = append(v.Findings, vf)
		}
	}
	return v
}

// scanJob is one image to scan.
type scanJob struct {
	repo, digest string
	children     []string // manifests of an index, covered by its verdict
}

// ErrQueueFull is returned when the scan queue is full.
var ErrQueueFull = errors.New("registry: scan queue full")

// scanQueue runs scans in a bounded background queue, at most one per
// digest at a time.
type scanQueue struct {
	g       *Guard
	jobs    chan scanJob
	mu      sync.Mutex
	pending map[string]bool
	wg      sync.WaitGroup // workers
	feeders sync.WaitGroup // background rescans
	feeding atomic.Int32
	timeout time.Duration
}

func newScanQueue(g *Guard, size, workers int, timeout time.Duration) *scanQueue {
	q := &scanQueue{g: g, jobs: make(chan scanJob, size), pending: map[string]bool{}, timeout: timeout}
	for range workers {
		q.wg.Add(1)
		go q.run()
	}
	return q
}

// enqueue adds a job unless the digest is already queued.
func (q *scanQueue) enqueue(j scanJob) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending[j.digest] {
		return nil
	}
	select {
	case q.jobs <- j:
		q.pending[j.digest] = true
		q.g.metrics.scanQueue.Inc()
		return nil
	default:
		q.g.metrics.scansDropped.Inc()
		return ErrQueueFull
	}
}

// close stops the queue: the caller has cancelled the guard's context, so
// feeders return; then the workers finish.
func (q *scanQueue) close() {
	q.feeders.Wait()
	close(q.jobs)
	q.wg.Wait()
}

// busy reports whether scans are queued, running or about to be queued.
func (q *scanQueue) busy() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending) > 0 || q.feeding.Load() > 0
}

func (q *scanQueue) run() {
	defer q.wg.Done()
	for j := range q.jobs {
		q.g.metrics.scanQueue.Dec()
		q.scan(j)
		q.mu.Lock()
		delete(q.pending, j.digest)
		q.mu.Unlock()
	}
}

func (q *scanQueue) scan(j scanJob) {
	g := q.g
	ctx, cancel := context.WithTimeout(g.baseCtx, q.timeout)
	defer cancel()
	ref := "registry:" + g.upstreamHost + "/" + j.repo + "@" + j.digest
	start := time.Now()
	rep, err := g.scanner.Scan(ctx, ref)
	elapsed := time.Since(start)
	var v *Verdict
	result := "ok"
	if err != nil {
		result = "error"
		v = &Verdict{Digest: j.digest, Repository: j.repo, ScannedAt: time.Now().UTC(), Status: "error", Error: err.Error()}
		g.log.Warn("scan failed", "repository", j.repo, "digest", j.digest, "err", err)
	} else {
		v = VerdictFromReport(j.repo, j.digest, rep, time.Now())
		g.log.Info("scanned", "repository", j.repo, "digest", j.digest, "vulnerabilities", v.Vulnerabilities, "took", elapsed)
	}
	g.metrics.scans.WithLabelValues(result).Inc()
	g.metrics.scanSeconds.Observe(elapsed.Seconds())
	vs := []*Verdict{v}
	for _, c := range j.children {
		cv := *v
		cv.Digest, cv.Parent = c, j.digest
		vs = append(vs, &cv)
	}
	if err := g.store.Put(vs...); err != nil {
		g.log.Error("storing verdict", "digest", j.digest, "err", err)
	}
	g.auditEvent(auditRecord{rec: audit.Record{Time: time.Now().UTC(), Identity: "picket-scanner", Action: "scan",
		Decision: result, Reason: summarize(v), Duration: elapsed}, repository: j.repo, digest: j.digest})
}

func summarize(v *Verdict) string {
	if v.Status != "scanned" {
		return "scan failed: " + v.Error
	}
	return fmt.Sprintf("vulnerabilities %v, findings %d", v.Vulnerabilities, len(v.Findings))
}

// enqueueWait queues a job, waiting for room in the queue.
func (q *scanQueue) enqueueWait(ctx context.Context, j scanJob) error {
	for {
		err := q.enqueue(j)
		if !errors.Is(err, ErrQueueFull) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Rescan queues every stored verdict's image again (after a database
// update), in the background, waiting for room in the queue. It returns
// how many images will be rescanned.
func (g *Guard) Rescan() (int, error) {
	var jobs []scanJob
	children := map[string][]string{}
	if err := g.store.All(func(v *Verdict) error {
		if v.Parent != "" {
			children[v.Parent] = append(children[v.Parent], v.Digest)
			return nil
		}
		jobs = append(jobs, scanJob{repo: v.Repository, digest: v.Digest})
		return nil
	}); err != nil {
		return 0, fmt.Errorf("registry: rescan: %w", err)
	}
	// The first jobs are queued now (so WaitIdle sees them), the rest as
	// room frees up.
	i := 0
	for ; i < len(jobs); i++ {
		jobs[i].children = children[jobs[i].digest]
		if err := g.scans.enqueue(jobs[i]); err != nil {
			break
		}
	}
	if rest := jobs[i:]; len(rest) > 0 {
		g.scans.feeders.Add(1)
		g.scans.feeding.Add(1)
		go func() {
			defer g.scans.feeders.Done()
			defer g.scans.feeding.Add(-1)
			for _, j := range rest {
				j.children = children[j.digest]
				if err := g.scans.enqueueWait(g.baseCtx, j); err != nil {
					g.log.Warn("rescan interrupted", "err", err)
					return
				}
			}
		}()
	}
	return len(jobs), nil
}
