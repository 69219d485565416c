package vulndb

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Default feed locations. Every one is configurable for mirrors and
// air-gapped hosts.
const (
	DefaultOSVBase   = "https://osv-vulnerabilities.storage.googleapis.com"
	DefaultSecDBBase = "https://secdb.alpinelinux.org"
	DefaultKEVURL    = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
)

// DefaultEcosystems are the OSV ecosystems fetched by default.
var DefaultEcosystems = []string{"Alpine", "Debian", "Ubuntu", "Go", "PyPI", "npm", "Maven", "crates.io", "RubyGems", "Packagist", "NuGet"}

// DefaultSecDBReleases are the Alpine releases whose secdb is fetched.
var DefaultSecDBReleases = []string{"v3.10", "v3.11", "v3.12", "v3.13", "v3.14", "v3.15", "v3.16", "v3.17", "v3.18", "v3.19", "v3.20", "v3.21", "v3.22"}

// UpdateOptions configure Update.
type UpdateOptions struct {
	OSVBase       string
	Ecosystems    []string
	SecDBBase     string   // empty with SecDBReleases nil: secdb skipped
	SecDBReleases []string // "v3.10"
	SecDBRepos    []string // default main, community
	KEVURL        string   // empty: KEV skipped
	Client        *http.Client
	Retries       int // attempts per download; default 3
	Logger        *slog.Logger
	// Progress is told the name of each feed and bytes received so far.
	Progress func(feed string, received, total int64)
}

// Result reports what an update did per feed.
type Result struct {
	Feed    string `json:"feed"`
	Status  string `json:"status"` // "updated", "not-modified", "missing"
	Records int    `json:"records"`
	Bytes   int64  `json:"bytes"`
}

type feedSpec struct {
	name, url, kind string
	optional        bool // a 404 is reported, not fatal (a release without a secdb)
}

// Update downloads every configured feed, parses it and swaps in a new
// database. Feeds unchanged since the last update (ETag/Last-Modified) are
// kept as they are. Downloads are retried with backoff and resumed with
// range requests; zip CRCs, Content-Length and the server's MD5
// (x-goog-hash, Content-MD5) are checked. Any failure leaves the current
// database as it was.
func Update(ctx context.Context, dir string, o UpdateOptions) ([]Result, error) {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Minute}
	}
	if o.Retries <= 0 {
		o.Retries = 3
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(o.SecDBRepos) == 0 {
		o.SecDBRepos = []string{"main", "community"}
	}
	var specs []feedSpec
	if o.OSVBase != "" {
		for _, eco := range o.Ecosystems {
			specs = append(specs, feedSpec{name: "osv/" + eco, url: strings.TrimRight(o.OSVBase, "/") + "/" + eco + "/all.zip", kind: "osv"})
		}
	}
	if o.SecDBBase != "" {
		for _, rel := range o.SecDBReleases {
			for _, repo := range o.SecDBRepos {
				specs = append(specs, feedSpec{name: "secdb/" + rel + "/" + repo, url: strings.TrimRight(o.SecDBBase, "/") + "/" + rel + "/" + repo + ".json", kind: "secdb", optional: true})
			}
		}
	}
	if o.KEVURL != "" {
		specs = append(specs, feedSpec{name: "kev", url: o.KEVURL, kind: "kev"})
	}
	if len(specs) == 0 {
		return nil, errors.New("vulndb: update: no feed configured")
	}
	b, err := NewBuilder(dir)
	if err != nil {
		return nil, err
	}
	dl := filepath.Join(dir, "downloads")
	if err := os.MkdirAll(dl, 0o700); err != nil {
		b.Abort()
		return nil, fmt.Errorf("vulndb: %w", err)
	}
	var results []Result
	for _, sp := range specs {
		prev, hasPrev := b.Source(sp.name)
		res, feed, err := fetch(ctx, o, sp, dl, prev, hasPrev)
		if err != nil {
			b.Abort()
			return nil, fmt.Errorf("vulndb: update %s: %w", sp.name, err)
		}
		results = append(results, res)
		if feed == nil {
			continue
		}
		if feed.Info.Kind == "kev" {
			err = b.ReplaceKEV(feed.Info, feed.KEV)
		} else {
			err = b.ReplaceSource(feed.Info, feed.Records)
		}
		if err != nil {
			b.Abort()
			return nil, err
		}
	}
	if err := b.Commit(); err != nil {
		return nil, err
	}
	return results, nil
}

// fetch downloads one feed (conditionally) and parses it. A nil feed means
// "keep what the database has".
func fetch(ctx context.Context, o UpdateOptions, sp feedSpec, dl string, prev SourceInfo, hasPrev bool) (Result, *Feed, error) {
	res := Result{Feed: sp.name}
	file := filepath.Join(dl, strings.NewReplacer("/", "_", ":", "_").Replace(sp.name))
	var lastErr error
	for attempt := 0; attempt < o.Retries; attempt++ {
		if attempt > 0 {
			o.Logger.Info("retrying download", "feed", sp.name, "attempt", attempt+1, "err", lastErr)
			select {
			case <-ctx.Done():
				return res, nil, ctx.Err()
			case <-time.After(time.Duration(1<<attempt) * 500 * time.Millisecond):
			}
		}
		status, hdr, err := download(ctx, o, sp, file, prev, hasPrev)
		if err != nil {
			lastErr = err
			var perm permanentError
			if errors.As(err, &perm) {
				break
			}
			continue
		}
		switch status {
		case http.StatusNotModified:
			res.Status = "not-modified"
			res.Records = prev.Records
			return res, nil, nil
		case http.StatusNotFound:
			res.Status = "missing"
			return res, nil, nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return res, nil, err
		}
		res.Bytes = int64(len(b))
		feed, err := parseFeed(sp, b)
		if err != nil {
			os.Remove(file) // do not resume from a corrupt file
			lastErr = err
			continue
		}
		feed.Info.Origin = sp.url
		feed.Info.ETag = hdr.Get("ETag")
		feed.Info.LastModified = hdr.Get("Last-Modified")
		feed.Info.SHA256 = sum(b)
		feed.Info.UpdatedAt = now()
		res.Status = "updated"
		res.Records = countIDs(feed.Records) + len(feed.KEV)
		return res, feed, nil
	}
	return res, nil, lastErr
}

func parseFeed(sp feedSpec, b []byte) (*Feed, error) {
	switch sp.kind {
	case "osv":
		f, err := LoadOSVZip(bytes.NewReader(b), int64(len(b)), sp.name)
		if err != nil {
			return nil, err
		}
		return f, nil
	case "secdb":
		recs, _, err := ParseSecDB(b)
		if err != nil {
			return nil, err
		}
		return &Feed{Info: SourceInfo{Name: sp.name, Kind: "secdb"}, Records: recs}, nil
	case "kev":
		kevs, _, err := ParseKEV(b)
		if err != nil {
			return nil, err
		}
		return &Feed{Info: SourceInfo{Name: sp.name, Kind: "kev"}, KEV: kevs}, nil
	}
	return nil, fmt.Errorf("%w: feed kind %q", ErrUnsupported, sp.kind)
}

// permanentError marks failures that retrying cannot fix.
type permanentError struct{ error }

// download fetches url into file, resuming a partial file with a range
// request. It returns 304 and 404 statuses to the caller without touching
// file's previous complete content.
func download(ctx context.Context, o UpdateOptions, sp feedSpec, file string, prev SourceInfo, hasPrev bool) (int, http.Header, error) {
	part := file + ".part"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, sp.url, nil)
	if err != nil {
		return 0, nil, permanentError{err}
	}
	req.Header.Set("User-Agent", "picket-vulndb")
	if _, err := os.Stat(file); err == nil && hasPrev {
		if prev.ETag != "" {
			req.Header.Set("If-None-Match", prev.ETag)
		}
		if prev.LastModified != "" {
			req.Header.Set("If-Modified-Since", prev.LastModified)
		}
	}
	var offset int64
	if st, err := os.Stat(part); err == nil && st.Size() > 0 {
		offset = st.Size()
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
		if et, err := os.ReadFile(part + ".etag"); err == nil && len(et) > 0 {
			req.Header.Set("If-Range", string(et))
		}
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return resp.StatusCode, resp.Header, nil
	case http.StatusNotFound:
		if sp.optional {
			return resp.StatusCode, resp.Header, nil
		}
		return 0, nil, permanentError{fmt.Errorf("%s: 404 Not Found", sp.url)}
	case http.StatusOK:
		offset = 0 // the server sent the whole file
	case http.StatusPartialContent:
	case http.StatusRequestedRangeNotSatisfiable:
		os.Remove(part)
		return 0, nil, fmt.Errorf("%s: range not satisfiable; restarting", sp.url)
	default:
		err := fmt.Errorf("%s: HTTP %s", sp.url, resp.Status)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return 0, nil, permanentError{err}
		}
		return 0, nil, err
	}
	flags := os.O_CREATE | os.O_WRONLY
	if offset > 0 {
		flags |= os.O_APPEND
	} else {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(part, flags, 0o600)
	if err != nil {
		return 0, nil, permanentError{err}
	}
	if et := resp.Header.Get("ETag"); et != "" {
		os.WriteFile(part+".etag", []byte(et), 0o600)
	}
	total := offset + resp.ContentLength
	pw := &progressWriter{w: f, n: offset, total: total, feed: sp.name, fn: o.Progress}
	n, copyErr := io.Copy(pw, resp.Body)
	closeErr := f.Close()
	if copyErr != nil {
		return 0, nil, fmt.Errorf("%s: download interrupted after %d bytes: %w", sp.url, offset+n, copyErr)
	}
	if closeErr != nil {
		return 0, nil, closeErr
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return 0, nil, fmt.Errorf("%s: got %d bytes, Content-Length says %d", sp.url, n, resp.ContentLength)
	}
	if err := checkMD5(part, resp.Header, offset == 0); err != nil {
		os.Remove(part)
		return 0, nil, err
	}
	os.Remove(part + ".etag")
	if err := os.Rename(part, file); err != nil {
		return 0, nil, permanentError{err}
	}
	return http.StatusOK, resp.Header, nil
}

// checkMD5 verifies the whole file against x-goog-hash (Google Cloud
// Storage, where OSV publishes) or Content-MD5, when the server sent one
// for the whole object.
func checkMD5(p string, h http.Header, whole bool) error {
	var want string
	for _, v := range h.Values("X-Goog-Hash") {
		for _, part := range strings.Split(v, ",") {
			if k, val, ok := strings.Cut(strings.TrimSpace(part), "="); ok && k == "md5" {
				want = val
			}
		}
	}
	if want == "" && whole {
		want = h.Get("Content-MD5")
	}
	if want == "" {
		return nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	sum := md5.Sum(b)
	if got := base64.StdEncoding.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("integrity check failed: md5 %s, server says %s", got, want)
	}
	return nil
}

type progressWriter struct {
	w        io.Writer
	n, total int64
	feed     string
	fn       func(string, int64, int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if p.fn != nil {
		p.fn(p.feed, p.n, p.total)
	}
	return n, err
}
