package registry

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestStore(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenStore(dir); err == nil {
		t.Error("a second guard opened the same state dir")
	}
	if _, err := s.Get("sha256:none"); !errors.Is(err, ErrNoVerdict) {
		t.Errorf("missing verdict: %v", err)
	}
	var vs []*Verdict
	for i := range maxCachedVerdicts + 10 {
		vs = append(vs, &Verdict{Digest: fmt.Sprintf("sha256:%064d", i), Repository: "a", Status: "scanned", ScannedAt: time.Now().UTC(),
			Vulnerabilities: map[string]int{"HIGH": i}})
	}
	if err := s.Put(vs...); err != nil {
		t.Fatal(err)
	}
	if len(s.cache) > maxCachedVerdicts {
		t.Errorf("cache holds %d verdicts", len(s.cache))
	}
	s.Close()
	s, err = OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := s.Get(vs[7].Digest)
	if err != nil || v.Vulnerabilities["HIGH"] != 7 {
		t.Errorf("after reopen: %+v %v", v, err)
	}
	n := 0
	if err := s.All(func(*Verdict) error { n++; return nil }); err != nil || n != len(vs) {
		t.Errorf("All: %d %v", n, err)
	}
}
