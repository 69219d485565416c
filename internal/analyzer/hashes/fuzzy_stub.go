//go:build !cgo || picket_nossdeep

package hashes

// FuzzyAvailable reports whether this build has libfuzzy (ssdeep).
const FuzzyAvailable = false

type fuzzyState struct{}

func newFuzzy(int64) (*fuzzyState, error)       { return nil, ErrFuzzyUnavailable }
func (*fuzzyState) Write(p []byte) (int, error) { return 0, ErrFuzzyUnavailable }
func (*fuzzyState) Sum() (string, error)        { return "", ErrFuzzyUnavailable }
func (*fuzzyState) free()                       {}

// FuzzyCompare returns ErrFuzzyUnavailable in a build without libfuzzy.
func FuzzyCompare(string, string) (int, error) { return 0, ErrFuzzyUnavailable }
