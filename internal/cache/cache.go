// Package cache stores analysis results per layer in an embedded bbolt
// file under the user's cache directory, so that a layer shared by many
// images (base -> component -> business images) is analysed once. Values
// are opaque bytes compressed with zstd; callers choose the encoding and
// put everything that changes results (analyzer versions, limits) in the key.
package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/zstd"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is bumped when the stored layout changes; older stores are
// ignored (their bucket is not read).
const SchemaVersion = 1

var bucket = []byte(fmt.Sprintf("layers/v%d", SchemaVersion))

// Store is a layer cache.
type Store struct {
	db  *bolt.DB
	enc *zstd.Encoder
	dec *zstd.Decoder
}

// DefaultDir returns $XDG_CACHE_HOME/picket (or the OS equivalent).
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	return filepath.Join(d, "picket"), nil
}

// ErrLocked is returned when another process holds the store.
var ErrLocked = errors.New("cache: store is locked by another process")

// Open opens (creating) the store in dir. It waits at most wait for another
// process that holds it.
func Open(dir string, wait time.Duration) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	db, err := bolt.Open(filepath.Join(dir, "layers.db"), 0o600, &bolt.Options{Timeout: wait, NoFreelistSync: true})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("cache: open: %w", err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("cache: init: %w", err)
	}
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	dec, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<30))
	return &Store{db: db, enc: enc, dec: dec}, nil
}

// Get returns the value stored under key.
func (s *Store) Get(key string) ([]byte, bool, error) {
	var comp []byte
	if err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucket).Get([]byte(key)); v != nil {
			comp = append([]byte(nil), v...)
		}
		return nil
	}); err != nil {
		return nil, false, fmt.Errorf("cache: get: %w", err)
	}
	if comp == nil {
		return nil, false, nil
	}
	b, err := s.dec.DecodeAll(comp, nil)
	if err != nil {
		return nil, false, fmt.Errorf("cache: corrupt entry %s: %w", key, err)
	}
	return b, true, nil
}

// Has reports whether key is stored, without decoding it.
func (s *Store) Has(key string) bool {
	found := false
	_ = s.db.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucket).Get([]byte(key)) != nil
		return nil
	})
	return found
}

// Put stores value under key.
func (s *Store) Put(key string, value []byte) error {
	comp := s.enc.EncodeAll(value, nil)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucket).Put([]byte(key), comp)
	}); err != nil {
		return fmt.Errorf("cache: put: %w", err)
	}
	return nil
}

// Close releases the store.
func (s *Store) Close() error {
	s.dec.Close()
	return s.db.Close()
}
