// Command osvverdict is a tie-breaker for bench/vulns-vs-osv-scanner.sh: it
// reads OSV records and answers, for a package version, whether the records
// named in a query affect it, evaluating the records' own data (the
// `versions` list and SEMVER/ECOSYSTEM ranges) with osv-scalibr's version
// comparators (the ones osv-scanner uses), independently of Picket's matcher.
//
//	osvverdict -data ../shared/data/osv/Go -data ../shared/data/osv/PyPI <queries.jsonl
//
// Each input line is a JSON query
//
//	{"ecosystem":"PyPI","name":"django","version":"2.2","ids":["PYSEC-2019-13","CVE-2019-12308"]}
//
// and each output line repeats it with "records": every record whose id or
// alias is in ids (with no ids: every record naming the package), with
// "affected" (true/false) and "why" (the range or list entry that decided
// it), plus "unknown" for ids no record carries.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/google/osv-scalibr/semantic"
)

type record struct {
	ID        string     `json:"id"`
	Aliases   []string   `json:"aliases"`
	Withdrawn string     `json:"withdrawn"`
	Affected  []affected `json:"affected"`
	file      string
}

type affected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Ranges []struct {
		Type   string              `json:"type"`
		Events []map[string]string `json:"events"`
	} `json:"ranges"`
	Versions []string `json:"versions"`
}

type query struct {
	Ecosystem string   `json:"ecosystem"`
	Name      string   `json:"name"`
	Version   string   `json:"version"`
	IDs       []string `json:"ids"`
}

type verdict struct {
	ID        string   `json:"id"`
	Aliases   []string `json:"aliases,omitempty"`
	File      string   `json:"file"`
	Withdrawn string   `json:"withdrawn,omitempty"`
	Affected  bool     `json:"affected"`
	Why       string   `json:"why"`
}

type answer struct {
	query
	Records []verdict `json:"records"`
	Unknown []string  `json:"unknown,omitempty"`
}

type dirs []string

func (d *dirs) String() string     { return strings.Join(*d, ",") }
func (d *dirs) Set(s string) error { *d = append(*d, s); return nil }

func main() {
	var data dirs
	flag.Var(&data, "data", "directory of OSV JSON records (repeatable)")
	flag.Parse()
	if len(data) == 0 {
		log.Fatal("osvverdict: at least one -data DIR is needed")
	}
	idx, err := load(data)
	if err != nil {
		log.Fatalf("osvverdict: %v", err)
	}
	if err := run(idx, os.Stdin, os.Stdout); err != nil {
		log.Fatalf("osvverdict: %v", err)
	}
}

// load indexes every record of the directories by id, by alias and by
// package (pkgKey).
func load(ds []string) (map[string][]*record, error) {
	idx := map[string][]*record{}
	for _, d := range ds {
		files, err := filepath.Glob(filepath.Join(d, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no *.json records", d)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			r := &record{file: f}
			if err := json.Unmarshal(b, r); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			for _, id := range append([]string{r.ID}, r.Aliases...) {
				idx[id] = append(idx[id], r)
			}
			for _, af := range r.Affected {
				k := pkgKey(af.Package.Ecosystem, af.Package.Name)
				if n := len(idx[k]); n == 0 || idx[k][n-1] != r {
					idx[k] = append(idx[k], r)
				}
			}
		}
	}
	return idx, nil
}

func run(idx map[string][]*record, in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	enc := json.NewEncoder(out)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var q query
		if err := json.Unmarshal([]byte(line), &q); err != nil {
			return fmt.Errorf("bad query %q: %w", line, err)
		}
		if err := enc.Encode(ask(idx, q)); err != nil {
			return err
		}
	}
	return sc.Err()
}

func ask(idx map[string][]*record, q query) answer {
	a := answer{query: q, Records: []verdict{}}
	seen := map[*record]bool{}
	ids := q.IDs
	if len(ids) == 0 {
		ids = []string{pkgKey(q.Ecosystem, q.Name)}
	}
	for _, id := range ids {
		rs := idx[id]
		if len(rs) == 0 && len(q.IDs) > 0 {
			a.Unknown = append(a.Unknown, id)
		}
		for _, r := range rs {
			if seen[r] {
				continue
			}
			seen[r] = true
			ok, why := affects(r, q.Ecosystem, q.Name, q.Version)
			a.Records = append(a.Records, verdict{ID: r.ID, Aliases: r.Aliases, File: r.file, Withdrawn: r.Withdrawn, Affected: ok, Why: why})
		}
	}
	return a
}

var pypiSep = regexp.MustCompile(`[-_.]+`)

func normName(eco, name string) string {
	if eco == "PyPI" {
		return pypiSep.ReplaceAllString(strings.ToLower(name), "-")
	}
	return name
}

func sameName(eco, a, b string) bool { return normName(eco, a) == normName(eco, b) }

// pkgKey is the index key of a package (it cannot collide with an id).
func pkgKey(eco, name string) string {
	eco = strings.SplitN(eco, ":", 2)[0]
	return "pkg\x00" + eco + "\x00" + normName(eco, name)
}

// affects reports whether record r affects name@version in ecosystem eco,
// and why (or why not).
func affects(r *record, eco, name, version string) (bool, string) {
	var why []string
	for _, af := range r.Affected {
		if strings.SplitN(af.Package.Ecosystem, ":", 2)[0] != eco || !sameName(eco, af.Package.Name, name) {
			continue
		}
		for _, v := range af.Versions {
			if v == version {
				return true, fmt.Sprintf("%s is listed in versions", version)
			}
		}
		for _, rg := range af.Ranges {
			if rg.Type != "SEMVER" && rg.Type != "ECOSYSTEM" {
				continue
			}
			in, desc, err := inRange(eco, version, rg.Events)
			if err != nil {
				why = append(why, fmt.Sprintf("%s range %s: %v", rg.Type, desc, err))
				continue
			}
			if in {
				return true, fmt.Sprintf("%s range %s", rg.Type, desc)
			}
			why = append(why, fmt.Sprintf("outside %s range %s", rg.Type, desc))
		}
		if len(af.Versions) > 0 {
			why = append(why, fmt.Sprintf("not among %d listed versions", len(af.Versions)))
		}
	}
	if len(why) == 0 {
		return false, fmt.Sprintf("no affected entry for %s/%s", eco, name)
	}
	return false, strings.Join(why, "; ")
}

type event struct{ kind, ver string }

// inRange evaluates one OSV range the way the OSV schema defines it: events
// sorted by version, walked in order up to the queried version.
func inRange(eco, version string, raw []map[string]string) (bool, string, error) {
	var evs []event
	var desc []string
	for _, m := range raw {
		for k, v := range m {
			switch k {
			case "introduced", "fixed", "last_affected", "limit":
				evs = append(evs, event{k, v})
				desc = append(desc, k+" "+v)
			}
		}
	}
	d := "[" + strings.Join(desc, ", ") + "]"
	trim := func(s string) string {
		if eco == "Go" {
			return strings.TrimPrefix(s, "v")
		}
		return s
	}
	v, err := semantic.Parse(trim(version), eco)
	if err != nil {
		return false, d, fmt.Errorf("cannot parse %q: %w", version, err)
	}
	var perr error
	cmp := func(a, b string) int {
		if a == "0" {
			return -1
		}
		if b == "0" {
			return 1
		}
		pa, err := semantic.Parse(trim(a), eco)
		if err != nil {
			perr = errors.Join(perr, err)
			return 0
		}
		c, err := pa.CompareStr(trim(b))
		if err != nil {
			perr = errors.Join(perr, err)
		}
		return c
	}
	sort.SliceStable(evs, func(i, j int) bool { return cmp(evs[i].ver, evs[j].ver) < 0 })
	in := false
	for _, e := range evs {
		c := 1 // version compared with the event's version
		if e.ver != "0" {
			var err error
			if c, err = v.CompareStr(trim(e.ver)); err != nil {
				return false, d, err
			}
		}
		switch e.kind {
		case "introduced":
			if c >= 0 {
				in = true
			}
		case "fixed", "limit":
			if c >= 0 {
				in = false
			}
		case "last_affected":
			if c > 0 {
				in = false
			}
		}
	}
	return in, d, perr
}
