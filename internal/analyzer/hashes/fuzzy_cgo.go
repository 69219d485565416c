//go:build cgo && !picket_nossdeep

package hashes

/*
#cgo !picket_static LDFLAGS: -lfuzzy
#cgo picket_static LDFLAGS: -l:libfuzzy.a
#include <stdlib.h>
#include <fuzzy.h>
*/
import "C"

import (
	"errors"
	"runtime"
	"unsafe"
)

// FuzzyAvailable reports whether this build has libfuzzy (ssdeep).
const FuzzyAvailable = true

// fuzzyState is libfuzzy's streaming ssdeep hasher.
type fuzzyState struct {
	s *C.struct_fuzzy_state
}

// newFuzzy returns a hasher for size bytes of input (size < 0: unknown).
func newFuzzy(size int64) (*fuzzyState, error) {
	s := C.fuzzy_new()
	if s == nil {
		return nil, errors.New("ssdeep: out of memory")
	}
	f := &fuzzyState{s: s}
	runtime.SetFinalizer(f, (*fuzzyState).free)
	if size >= 0 {
		if C.fuzzy_set_total_input_length(s, C.uint_least64_t(size)) != 0 {
			f.free()
			return nil, errors.New("ssdeep: input too large")
		}
	}
	return f, nil
}

// Write implements io.Writer.
func (f *fuzzyState) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if C.fuzzy_update(f.s, (*C.uchar)(unsafe.Pointer(&p[0])), C.size_t(len(p))) != 0 {
		return 0, errors.New("ssdeep: update failed (input longer than announced?)")
	}
	runtime.KeepAlive(p)
	return len(p), nil
}

// Sum returns the ssdeep hash ("blocksize:hash:hash").
func (f *fuzzyState) Sum() (string, error) {
	var buf [C.FUZZY_MAX_RESULT]C.char
	if C.fuzzy_digest(f.s, &buf[0], 0) != 0 {
		return "", errors.New("ssdeep: digest failed")
	}
	return C.GoString(&buf[0]), nil
}

func (f *fuzzyState) free() {
	if f.s != nil {
		C.fuzzy_free(f.s)
		f.s = nil
	}
	runtime.SetFinalizer(f, nil)
}

// FuzzyCompare returns the similarity of two ssdeep hashes, 0 (unrelated)
// to 100 (identical), as ssdeep computes it.
func FuzzyCompare(a, b string) (int, error) {
	ca, cb := C.CString(a), C.CString(b)
	defer C.free(unsafe.Pointer(ca))
	defer C.free(unsafe.Pointer(cb))
	n := C.fuzzy_compare(ca, cb)
	if n < 0 {
		return 0, errors.New("ssdeep: invalid hash")
	}
	return int(n), nil
}
