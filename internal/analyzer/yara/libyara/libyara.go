// Package libyara is Picket's small cgo binding to libyara (VirusTotal's
// YARA engine, Debian's libyara-dev): compile rules from text or files with
// external variables, then scan memory buffers or file descriptors with a
// timeout and collect the matching rules, their tags and metadata and the
// first match of each string.
//
// Compiled Rules are safe for concurrent use; a Scanner is not (libyara's
// scanners keep per-scan state): use one per goroutine.
//
// Builds without cgo, or with the build tag picket_noyara (for machines
// with a C compiler but without libyara), get a stub whose Compile returns
// ErrUnavailable and whose Available is false.
package libyara

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnavailable is returned by every function of a build without libyara.
var ErrUnavailable = errors.New("YARA analysis unavailable: picket was built without cgo/libyara " +
	"(build with CGO_ENABLED=1 and Debian's libyara-dev installed, without the picket_noyara tag)")

// ErrTimeout is returned when a scan exceeds its timeout.
var ErrTimeout = errors.New("yara: scan timed out")

// Limits on what one scan reports, so that hostile files and rule sets
// cannot make results grow without bound.
const (
	MaxRuleMatches  = 256 // matching rules reported per scan (the rest are counted in Result.Truncated)
	MaxStringsShown = 4   // string matches kept per rule (first match of each string)
	MaxMatchData    = 64  // bytes of matched data kept per string match
)

// Source is one rule file to compile.
type Source struct {
	// Name identifies the source in messages (a path, "embedded:eicar.yar").
	Name string
	// Namespace isolates rule identifiers: rules in different namespaces
	// may share names.
	Namespace string
	// Text is the rule source. When nil, Path is read by libyara, so that
	// include directives resolve relative to the file.
	Text []byte
	Path string
}

// Message is a compiler error or warning.
type Message struct {
	Warning bool
	File    string
	Line    int
	Rule    string
	Text    string
}

func (m Message) String() string {
	var b strings.Builder
	if m.File != "" {
		b.WriteString(m.File)
		if m.Line > 0 {
			fmt.Fprintf(&b, ":%d", m.Line)
		}
		b.WriteString(": ")
	}
	if m.Warning {
		b.WriteString("warning: ")
	}
	if m.Rule != "" {
		fmt.Fprintf(&b, "rule %s: ", m.Rule)
	}
	b.WriteString(m.Text)
	return b.String()
}

// CompileError lists the errors of a failed compilation.
type CompileError struct {
	Source   string
	Messages []Message
}

func (e *CompileError) Error() string {
	var errs []string
	for _, m := range e.Messages {
		if !m.Warning {
			errs = append(errs, m.String())
		}
	}
	if len(errs) == 0 {
		return fmt.Sprintf("yara: %s does not compile", e.Source)
	}
	return "yara: " + strings.Join(errs, "; ")
}

// Meta is one metadata entry of a rule. Value is a string, int64 or bool.
type Meta struct {
	Key   string
	Value any
}

// RuleInfo describes one compiled rule.
type RuleInfo struct {
	Identifier string
	Namespace  string
	Tags       []string
	Meta       []Meta
	Private    bool
}

// MetaString returns the first metadata value for key as a string ("" when
// absent).
func (r *RuleInfo) MetaString(key string) string {
	for _, m := range r.Meta {
		if m.Key == key {
			return fmt.Sprint(m.Value)
		}
	}
	return ""
}

// StringMatch is the first match of one of a rule's strings.
type StringMatch struct {
	ID     string // "$s1"
	Offset int64
	Data   []byte // at most MaxMatchData bytes
}

// Match is one matching rule.
type Match struct {
	Rule    *RuleInfo
	Strings []StringMatch // at most MaxStringsShown
}

// Result is what one scan found.
type Result struct {
	Matches []Match
	// Truncated counts matching rules beyond MaxRuleMatches.
	Truncated int
	// TooManyMatches says a string matched too often (libyara's limit) and
	// its further matches were ignored.
	TooManyMatches bool
}
