// Package bench checks a Docker host the way the CIS Docker Benchmark
// (v1.6.0, sections 1-7) and docker-bench-security do, in Go: host
// configuration, daemon settings (docker info, daemon.json and the dockerd
// command line, merged), ownership and modes of the daemon's files, images,
// every running container, sprawl and swarm.
//
// Each section lives in its own file (section1_host.go ... section7_swarm.go)
// and registers its checks from init. A check reads facts through an *Env,
// which gathers them lazily and once (daemon info, container inspects, file
// metadata under a root prefix), and returns an Outcome: PASS, WARN, INFO,
// NOTE or SKIP, with items naming each offending container or file. A fact
// that cannot be had — no daemon, a file Picket may not read, a rootless
// daemon whose files live elsewhere — makes the check SKIP with the reason,
// never PASS.
package bench

import (
	"context"
	"fmt"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Result is a check's verdict, with docker-bench-security's vocabulary.
type Result string

// Results.
const (
	Pass Result = "PASS" // the host complies
	Warn Result = "WARN" // the host does not comply
	Info Result = "INFO" // facts for a human to judge (nothing to check automatically, or not applicable)
	Note Result = "NOTE" // a manual check: the benchmark asks a human to review
	Skip Result = "SKIP" // the check could not run; Details says why
)

// Results lists the results in report order.
var Results = []Result{Pass, Warn, Info, Note, Skip}

// Item is one offending (or reviewed) object: a container, an image, a file.
type Item struct {
	Target string `json:"target"`
	Detail string `json:"detail"`
}

// Outcome is what a check's Run returns.
type Outcome struct {
	Result  Result
	Details string
	Items   []Item
}

// Check is one benchmark recommendation.
type Check struct {
	ID          string // CIS numbering, e.g. "5.10"
	Title       string
	Level       int  // CIS profile level, 1 or 2
	Scored      bool // counts towards the score (CIS "Automated"/"Scored")
	Remediation string
	Run         func(ctx context.Context, e *Env) Outcome
}

// Section returns the check's section number (the first id component).
func (c *Check) Section() int {
	s, _, _ := strings.Cut(c.ID, ".")
	n, _ := strconv.Atoi(s)
	return n
}

// Sections names the benchmark's sections.
var Sections = map[int]string{
	1: "Host configuration",
	2: "Docker daemon configuration",
	3: "Docker daemon configuration files",
	4: "Container images and build file",
	5: "Container runtime",
	6: "Docker security operations",
	7: "Docker swarm configuration",
}

var (
	regMu    sync.Mutex
	registry = map[string]*Check{}
)

// register adds checks; a duplicate id panics (a programming error).
func register(cs ...*Check) {
	regMu.Lock()
	defer regMu.Unlock()
	for _, c := range cs {
		if _, dup := registry[c.ID]; dup {
			panic("bench: check " + c.ID + " registered twice")
		}
		if c.Level == 0 {
			c.Level = 1
		}
		registry[c.ID] = c
	}
}

// Checks returns every registered check in CIS order.
func Checks() []*Check {
	regMu.Lock()
	defer regMu.Unlock()
	out := make([]*Check, 0, len(registry))
	for _, c := range registry {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return CompareIDs(out[i].ID, out[j].ID) < 0 })
	return out
}

// Lookup returns the check with this id.
func Lookup(id string) (*Check, bool) {
	regMu.Lock()
	defer regMu.Unlock()
	c, ok := registry[id]
	return c, ok
}

// CompareIDs orders CIS ids numerically component by component
// ("5.2" < "5.10").
func CompareIDs(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, errx := strconv.Atoi(as[i])
		y, erry := strconv.Atoi(bs[i])
		if errx != nil || erry != nil {
			if c := strings.Compare(as[i], bs[i]); c != 0 {
				return c
			}
			continue
		}
		if x != y {
			return x - y
		}
	}
	return len(as) - len(bs)
}

// Selection chooses checks. An id selects the check and every check below it
// ("1.1" selects 1.1.1 ... 1.1.18). Empty lists mean "all".
type Selection struct {
	Checks       []string // run only these ids (and their children)
	SkipChecks   []string
	Sections     []int // run only these sections
	SkipSections []int
	Level        int // when 1, only level-1 checks; 0 or 2: all levels
}

// Validate reports unknown ids and sections.
func (s Selection) Validate() error {
	all := Checks()
	for _, id := range append(slices.Clone(s.Checks), s.SkipChecks...) {
		if !slices.ContainsFunc(all, func(c *Check) bool { return under(c.ID, id) }) {
			return fmt.Errorf("bench: unknown check %q", id)
		}
	}
	for _, n := range append(slices.Clone(s.Sections), s.SkipSections...) {
		if _, ok := Sections[n]; !ok {
			return fmt.Errorf("bench: unknown section %d (want 1-7)", n)
		}
	}
	if s.Level < 0 || s.Level > 2 {
		return fmt.Errorf("bench: level %d (want 1 or 2)", s.Level)
	}
	return nil
}

// under reports whether id is prefix or a descendant of prefix.
func under(id, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, ".")
	return id == prefix || strings.HasPrefix(id, prefix+".")
}

// Selected reports whether s selects c.
func (s Selection) Selected(c *Check) bool {
	if len(s.Sections) > 0 && !slices.Contains(s.Sections, c.Section()) {
		return false
	}
	if slices.Contains(s.SkipSections, c.Section()) {
		return false
	}
	if len(s.Checks) > 0 && !slices.ContainsFunc(s.Checks, func(p string) bool { return under(c.ID, p) }) {
		return false
	}
	if slices.ContainsFunc(s.SkipChecks, func(p string) bool { return under(c.ID, p) }) {
		return false
	}
	if s.Level == 1 && c.Level != 1 {
		return false
	}
	return true
}

// CheckResult is one check's entry in a report.
type CheckResult struct {
	ID          string   `json:"id"`
	Section     int      `json:"section"`
	Title       string   `json:"title"`
	Level       int      `json:"level"`
	Scored      bool     `json:"scored"`
	Result      Result   `json:"result"`
	Details     string   `json:"details,omitempty"`
	Items       []Item   `json:"items,omitempty"`
	Remediation string   `json:"remediation,omitempty"`
	Duration    Duration `json:"durationMs"`
}

// Duration marshals as whole milliseconds.
type Duration time.Duration

// MarshalJSON writes milliseconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatInt(time.Duration(d).Milliseconds(), 10)), nil
}

// UnmarshalJSON reads milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("bench: duration: %w", err)
	}
	*d = Duration(time.Duration(n) * time.Millisecond)
	return nil
}

// Summary counts results.
type Summary struct {
	Checks int `json:"checks"`
	Pass   int `json:"pass"`
	Warn   int `json:"warn"`
	Info   int `json:"info"`
	Note   int `json:"note"`
	Skip   int `json:"skip"`
	// Score is docker-bench-security's: +1 per scored PASS, -1 per scored WARN.
	Score int `json:"score"`
	// Percent is scored PASS / (scored PASS + scored WARN), 0-100; 100 when
	// no scored check ran to a verdict.
	Percent float64 `json:"percent"`
}

// Count returns the count for one result.
func (s Summary) Count(r Result) int {
	switch r {
	case Pass:
		return s.Pass
	case Warn:
		return s.Warn
	case Info:
		return s.Info
	case Note:
		return s.Note
	case Skip:
		return s.Skip
	}
	return 0
}

// Report is a whole benchmark run.
type Report struct {
	Tool      string        `json:"tool"`
	Version   string        `json:"version,omitempty"`
	Benchmark string        `json:"benchmark"`
	Host      HostInfo      `json:"host"`
	StartedAt time.Time     `json:"startedAt"`
	Duration  Duration      `json:"durationMs"`
	Summary   Summary       `json:"summary"`
	Results   []CheckResult `json:"results"`
}

// HostInfo identifies the host in reports.
type HostInfo struct {
	Hostname      string `json:"hostname,omitempty"`
	DockerVersion string `json:"dockerVersion,omitempty"`
	DockerHost    string `json:"dockerHost,omitempty"`
	Root          string `json:"root"`
	Rootless      bool   `json:"rootless,omitempty"`
	DaemonError   string `json:"daemonError,omitempty"`
	// ConfigConflicts lists directives given both on the dockerd command
	// line and in daemon.json (dockerd refuses to start with them; a daemon
	// started before the file was edited will not come back after a
	// restart), and command-line arguments Picket could not parse.
	ConfigConflicts []string `json:"configConflicts,omitempty"`
}

// BenchmarkName is the benchmark version the checks follow.
const BenchmarkName = "CIS Docker Benchmark v1.6.0"

// Run runs the selected checks against e, one after the other (they share
// e's cached facts), and returns the report. A check that panics is
// reported as SKIP with the panic, so one broken check never hides the
// others.
func Run(ctx context.Context, e *Env, sel Selection) (*Report, error) {
	if err := sel.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	rep := &Report{Tool: "picket", Benchmark: BenchmarkName, StartedAt: start.UTC()}
	for _, c := range Checks() {
		if !sel.Selected(c) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		t0 := time.Now()
		o := runOne(ctx, e, c)
		rep.Results = append(rep.Results, CheckResult{
			ID: c.ID, Section: c.Section(), Title: c.Title, Level: c.Level, Scored: c.Scored,
			Result: o.Result, Details: o.Details, Items: o.Items, Remediation: c.Remediation,
			Duration: Duration(time.Since(t0)),
		})
	}
	rep.Summary = Summarize(rep.Results)
	rep.Duration = Duration(time.Since(start))
	rep.Host = e.hostInfo(ctx)
	return rep, nil
}

func runOne(ctx context.Context, e *Env, c *Check) (o Outcome) {
	defer func() {
		if r := recover(); r != nil {
			o = Outcome{Result: Skip, Details: fmt.Sprintf("check failed internally: %v\n%s", r, debug.Stack())}
		}
	}()
	o = c.Run(ctx, e)
	if o.Result == "" {
		o.Result = Skip
		o.Details = "check returned no result"
	}
	sort.SliceStable(o.Items, func(i, j int) bool { return o.Items[i].Target < o.Items[j].Target })
	return o
}

// Summarize counts results and computes the score.
func Summarize(rs []CheckResult) Summary {
	var s Summary
	sp, sw := 0, 0
	for _, r := range rs {
		s.Checks++
		switch r.Result {
		case Pass:
			s.Pass++
			if r.Scored {
				sp++
			}
		case Warn:
			s.Warn++
			if r.Scored {
				sw++
			}
		case Info:
			s.Info++
		case Note:
			s.Note++
		case Skip:
			s.Skip++
		}
	}
	s.Score = sp - sw
	s.Percent = 100
	if sp+sw > 0 {
		s.Percent = float64(int(1000*float64(sp)/float64(sp+sw)+0.5)) / 10
	}
	return s
}

// Result returns the entry for id.
func (r *Report) Result(id string) (CheckResult, bool) {
	for _, c := range r.Results {
		if c.ID == id {
			return c, true
		}
	}
	return CheckResult{}, false
}

// outcome helpers used by the sections.

func pass(format string, a ...any) Outcome {
	return Outcome{Result: Pass, Details: fmt.Sprintf(format, a...)}
}
func warn(format string, a ...any) Outcome {
	return Outcome{Result: Warn, Details: fmt.Sprintf(format, a...)}
}
func info(format string, a ...any) Outcome {
	return Outcome{Result: Info, Details: fmt.Sprintf(format, a...)}
}
func note(format string, a ...any) Outcome {
	return Outcome{Result: Note, Details: fmt.Sprintf(format, a...)}
}
func skip(format string, a ...any) Outcome {
	return Outcome{Result: Skip, Details: fmt.Sprintf(format, a...)}
}

func skipErr(what string, err error) Outcome {
	return Outcome{Result: Skip, Details: what + ": " + err.Error()}
}

// withItems sets the items of o.
func (o Outcome) withItems(items []Item) Outcome { o.Items = items; return o }
