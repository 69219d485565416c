// Command secretscan runs Picket's secret analyzer over a directory tree (an
// extracted image root filesystem) the way the layer walker would: every
// regular file the analyzer asks for is read once and analysed, files in
// parallel. It exists for benchmarks (bench/secrets-vs-gitleaks.sh) and for
// checking rules by hand.
//
//	secretscan [-gitleaks-config FILE] [-no-builtin] [-workers N] [-json] DIR
//
// Paths are reported as absolute paths inside DIR ("/etc/app/.env"). The
// summary (files, findings per severity and rule, seconds) goes to stderr;
// -json writes the findings to stdout. The bookworm test image's root
// filesystem is printed by `go run ./internal/testimage/cmd/mkimages -q -rootfs bookworm`.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/picket-cdr/picket/internal/analyzer"
	"github.com/picket-cdr/picket/internal/analyzer/secret"
	"github.com/picket-cdr/picket/internal/finding"
)

type sizedFile struct {
	*os.File
	size int64
}

func (f sizedFile) Size() int64 { return f.size }

func main() {
	glConfig := flag.String("gitleaks-config", "", "also load this gitleaks TOML configuration")
	noBuiltin := flag.Bool("no-builtin", false, "leave the built-in rules out")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "files analysed at once")
	asJSON := flag.Bool("json", false, "write the findings as JSON to stdout")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: secretscan [flags] DIR")
		os.Exit(2)
	}
	root := flag.Arg(0)

	var opts []secret.Option
	if *glConfig != "" {
		opts = append(opts, secret.WithGitleaksConfig(*glConfig))
	}
	if *noBuiltin {
		opts = append(opts, secret.WithoutBuiltinRules())
	}
	a, err := secret.New(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "secretscan:", err)
		os.Exit(2)
	}
	for _, st := range a.GitleaksStats() {
		fmt.Fprintln(os.Stderr, "secretscan: gitleaks config", st)
	}

	start := time.Now()
	type job struct {
		path, abs string
		info      fs.FileInfo
	}
	jobs := make(chan job, 256)
	var (
		mu       sync.Mutex
		all      []*finding.Finding
		seen     atomic.Int64
		analysed atomic.Int64
		bytes    atomic.Int64
		errs     atomic.Int64
		wg       sync.WaitGroup
	)
	for range max(1, *workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				f, err := os.Open(j.abs)
				if err != nil {
					errs.Add(1)
					continue
				}
				res, err := a.Analyze(context.Background(), &analyzer.Input{
					Path: j.path, Info: j.info, Content: sizedFile{f, j.info.Size()},
				})
				f.Close()
				analysed.Add(1)
				bytes.Add(j.info.Size())
				if err != nil {
					errs.Add(1)
					fmt.Fprintln(os.Stderr, "secretscan:", err)
					continue
				}
				if res != nil && len(res.Findings) > 0 {
					mu.Lock()
					all = append(all, res.Findings...)
					mu.Unlock()
				}
			}
		}()
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs.Add(1)
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		seen.Add(1)
		info, err := d.Info()
		if err != nil {
			errs.Add(1)
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		ip := "/" + filepath.ToSlash(rel)
		if a.Required(ip, info) {
			jobs <- job{ip, p, info}
		}
		return nil
	})
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "secretscan:", err)
		os.Exit(2)
	}

	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Location.Path != all[j].Location.Path {
			return all[i].Location.Path < all[j].Location.Path
		}
		return all[i].Location.Line < all[j].Location.Line
	})
	bySev := map[finding.Severity]int{}
	byRule := map[string]int{}
	secrets := 0
	for _, f := range all {
		if f.Kind == finding.KindSecret {
			secrets++
			bySev[f.Severity]++
		}
		byRule[f.RuleID]++
	}
	fmt.Fprintf(os.Stderr, "secretscan: %d files, %d analysed (%.1f MiB), %d secret findings (critical %d, high %d, medium %d), %d other findings, %d errors, %.3f s\n",
		seen.Load(), analysed.Load(), float64(bytes.Load())/(1<<20), secrets,
		bySev[finding.Critical], bySev[finding.High], bySev[finding.Medium], len(all)-secrets, errs.Load(), elapsed.Seconds())
	ids := make([]string, 0, len(byRule))
	for id := range byRule {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(os.Stderr, "  %-40s %d\n", id, byRule[id])
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if all == nil {
			all = []*finding.Finding{}
		}
		if err := enc.Encode(all); err != nil {
			fmt.Fprintln(os.Stderr, "secretscan:", err)
			os.Exit(2)
		}
	}
}
