package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Verdict is the stored outcome of scanning one manifest digest.
type Verdict struct {
	Digest     string    `json:"digest"`
	Repository string    `json:"repository"`
	ScannedAt  time.Time `json:"scannedAt"`
	// Status is "scanned" or "error" (the scan failed; the gate treats the
	// image as not scanned).
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// DBUpdatedAt is the vulnerability database's age at scan time; zero
	// when no database was available.
	DBUpdatedAt time.Time `json:"dbUpdatedAt,omitzero"`
	DBSources   []string  `json:"dbSources,omitempty"`
	// Counts of vulnerability findings by severity (CRITICAL, HIGH, ...),
	// and of all findings by kind.
	Vulnerabilities map[string]int `json:"vulnerabilities"`
	Kinds           map[string]int `json:"kinds"`
	// Findings, most severe first, at most maxVerdictFindings.
	Findings []VerdictFinding `json:"findings,omitempty"`
	// Parent is the index digest whose scan covers this manifest (children
	// of a multi-platform index).
	Parent string `json:"parent,omitempty"`
	// Packages is the number of packages found.
	Packages int `json:"packages"`
}

// VerdictFinding is one finding kept with a verdict.
type VerdictFinding struct {
	Kind     string            `json:"kind"`
	Severity string            `json:"severity"`
	ID       string            `json:"id"`
	Title    string            `json:"title"`
	Attrs    map[string]string `json:"attributes,omitempty"`
}

const maxVerdictFindings = 500

var bVerdicts = []byte("verdicts")

// Store keeps verdicts by digest in a bbolt file.
type Store struct {
	db *bolt.DB

	mu    sync.Mutex
	cache map[string]*Verdict // recently read or written verdicts
}

// maxCachedVerdicts bounds the in-memory verdict cache (a verdict keeps up
// to maxVerdictFindings findings); when full it is emptied.
const maxCachedVerdicts = 2048

func (s *Store) cached(digest string) (*Verdict, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.cache[digest]
	return v, ok
}

func (s *Store) remember(v *Verdict) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= maxCachedVerdicts {
		clear(s.cache)
	}
	s.cache[v.Digest] = v
}

func (s *Store) forget(digest string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cache, digest)
}

// OpenStore opens (creating) the verdict store under dir. Only one guard
// may hold it: a second one fails after a short wait.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("registry: state dir: %w", err)
	}
	p := filepath.Join(dir, "verdicts.db")
	db, err := bolt.Open(p, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("registry: open %s (is another guard running with this state dir?): %w", p, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bVerdicts)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("registry: %s: %w", p, err)
	}
	return &Store{db: db, cache: map[string]*Verdict{}}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// ErrNoVerdict is returned by Get when a digest was never scanned.
var ErrNoVerdict = errors.New("registry: no verdict")

// Get returns the verdict of digest. The result is shared: do not modify
// it.
func (s *Store) Get(digest string) (*Verdict, error) {
	if v, ok := s.cached(digest); ok {
		return v, nil
	}
	var v *Verdict
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bVerdicts).Get([]byte(digest))
		if b == nil {
			return ErrNoVerdict
		}
		v = &Verdict{}
		return json.Unmarshal(b, v)
	})
	if err != nil && !errors.Is(err, ErrNoVerdict) {
		return nil, fmt.Errorf("registry: verdict %s: %w", digest, err)
	}
	if err == nil {
		s.remember(v)
	}
	return v, err
}

// Put stores verdicts (one transaction).
func (s *Store) Put(vs ...*Verdict) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, v := range vs {
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bVerdicts).Put([]byte(v.Digest), b); err != nil {
				return err
			}
		}
		return nil
	})
	for _, v := range vs {
		if err == nil {
			s.remember(v)
		} else {
			s.forget(v.Digest)
		}
	}
	return err
}

// All calls fn for every stored verdict.
func (s *Store) All(fn func(*Verdict) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bVerdicts).ForEach(func(_, b []byte) error {
			v := &Verdict{}
			if err := json.Unmarshal(b, v); err != nil {
				return err
			}
			return fn(v)
		})
	})
}
