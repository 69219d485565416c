//go:build !cgo || picket_noyara

package libyara

import "time"

// Available reports whether this build has libyara.
const Available = false

// Version is the libyara version this build was compiled against.
const Version = ""

// Rules are compiled rules; a build without libyara has none.
type Rules struct{}

// Compile returns ErrUnavailable in a build without libyara.
func Compile([]Source, map[string]string) (*Rules, []Message, error) {
	return nil, nil, ErrUnavailable
}

// Rules lists no rules.
func (*Rules) Rules() []RuleInfo { return nil }

// Close does nothing.
func (*Rules) Close() {}

// NewScanner returns ErrUnavailable.
func (*Rules) NewScanner() (*Scanner, error) { return nil, ErrUnavailable }

// Scanner scans nothing in a build without libyara.
type Scanner struct{}

// SetTimeout does nothing.
func (*Scanner) SetTimeout(time.Duration) {}

// DefineString returns ErrUnavailable.
func (*Scanner) DefineString(string, string) error { return ErrUnavailable }

// ScanMem returns ErrUnavailable.
func (*Scanner) ScanMem([]byte) (*Result, error) { return nil, ErrUnavailable }

// ScanFd returns ErrUnavailable.
func (*Scanner) ScanFd(uintptr) (*Result, error) { return nil, ErrUnavailable }

// Close does nothing.
func (*Scanner) Close() {}
