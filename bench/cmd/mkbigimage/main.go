// Command mkbigimage writes a `docker save`-format image archive holding many
// small files, for measuring a scanner's memory on images with huge file
// counts. It streams: each layer is written to a temporary file while its
// sha256 (the diff id) is computed, then copied into the archive, so memory
// stays constant whatever the file count.
//
//	go run ./bench/cmd/mkbigimage -n 1000000 -layers 2 -o .bench/bigimage.tar
//
// Files are /data/dNNN/.../fNNN.txt with at most -per-dir entries per
// directory and -min..-max bytes of deterministic text each (-seed), split
// evenly over the layers. The image also holds /etc/os-release. The archive
// loads with `docker load -i` and is tagged -tag.
package main

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type options struct {
	files    int
	layers   int
	perDir   int
	minSize  int
	maxSize  int
	seed     uint64
	tag      string
	out      string
	modTime  time.Time
	progress bool
}

func main() {
	var o options
	flag.IntVar(&o.files, "n", 1_000_000, "number of small files")
	flag.IntVar(&o.layers, "layers", 1, "number of layers the files are split over")
	flag.IntVar(&o.perDir, "per-dir", 1000, "maximum entries per directory (>= 2)")
	flag.IntVar(&o.minSize, "min", 16, "minimum file size in bytes")
	flag.IntVar(&o.maxSize, "max", 64, "maximum file size in bytes")
	flag.Uint64Var(&o.seed, "seed", 1, "seed of the file contents")
	flag.StringVar(&o.tag, "tag", "picket-bench/many-files:latest", "repository:tag recorded in manifest.json")
	flag.StringVar(&o.out, "o", "", "output archive path (required)")
	quiet := flag.Bool("q", false, "no progress on stderr")
	flag.Parse()
	o.progress = !*quiet
	o.modTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	log.SetFlags(0)
	log.SetPrefix("mkbigimage: ")
	if err := o.check(); err != nil {
		log.Print(err)
		flag.Usage()
		os.Exit(2)
	}
	start := time.Now()
	if err := write(o); err != nil {
		log.Fatal(err)
	}
	if o.progress {
		st, _ := os.Stat(o.out)
		log.Printf("wrote %s: %d files in %d layer(s), %d bytes, in %s", o.out, o.files, o.layers, st.Size(), time.Since(start).Round(time.Millisecond))
	}
}

func (o options) check() error {
	switch {
	case o.out == "":
		return errors.New("-o is required")
	case o.files < 0 || o.layers < 1:
		return errors.New("-n must be >= 0 and -layers >= 1")
	case o.perDir < 2:
		return errors.New("-per-dir must be >= 2")
	case o.minSize < 0 || o.maxSize < o.minSize:
		return errors.New("need 0 <= -min <= -max")
	case !strings.Contains(o.tag, ":"):
		return errors.New("-tag must be repository:tag")
	}
	return nil
}

// depth is the number of path components below /data (directories plus the
// file) needed to keep every directory at or under perDir entries.
func depth(files, perDir int) int {
	d, capacity := 1, perDir
	for capacity < files {
		d++
		capacity *= perDir
	}
	return d
}

// filePath returns the components of file i: directories then the file name.
func filePath(i, d, perDir int) []string {
	parts := make([]string, d)
	for k := d - 1; k >= 0; k-- {
		n := i % perDir
		i /= perDir
		if k == d-1 {
			parts[k] = fmt.Sprintf("f%03d.txt", n)
		} else {
			parts[k] = fmt.Sprintf("d%03d", n)
		}
	}
	return parts
}

func write(o options) error {
	dir := filepath.Dir(o.out)
	tmpDir, err := os.MkdirTemp(dir, ".mkbigimage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmpDir)

	var diffIDs, layerFiles []string
	for l := 0; l < o.layers; l++ {
		from, to := l*o.files/o.layers, (l+1)*o.files/o.layers
		path := filepath.Join(tmpDir, fmt.Sprintf("layer%d.tar", l))
		id, err := writeLayer(o, path, l, from, to)
		if err != nil {
			return fmt.Errorf("layer %d: %w", l, err)
		}
		diffIDs = append(diffIDs, "sha256:"+id)
		layerFiles = append(layerFiles, path)
		if o.progress {
			log.Printf("layer %d: files %d..%d, diff id sha256:%s", l, from, to, id[:12])
		}
	}

	config, err := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      o.modTime.Format(time.RFC3339),
		"config":       map[string]any{"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
		"history": func() []map[string]any {
			h := make([]map[string]any, len(diffIDs))
			for i := range h {
				h[i] = map[string]any{"created": o.modTime.Format(time.RFC3339), "created_by": fmt.Sprintf("mkbigimage layer %d", i)}
			}
			return h
		}(),
	})
	if err != nil {
		return err
	}
	configSum := sha256.Sum256(config)
	configName := hex.EncodeToString(configSum[:]) + ".json"

	var layerNames []string
	for _, id := range diffIDs {
		layerNames = append(layerNames, strings.TrimPrefix(id, "sha256:")+"/layer.tar")
	}
	manifest, err := json.Marshal([]map[string]any{{
		"Config":   configName,
		"RepoTags": []string{o.tag},
		"Layers":   layerNames,
	}})
	if err != nil {
		return err
	}
	repo, tag, _ := strings.Cut(o.tag, ":")
	repositories, err := json.Marshal(map[string]map[string]string{
		repo: {tag: strings.TrimSuffix(layerNames[len(layerNames)-1], "/layer.tar")},
	})
	if err != nil {
		return err
	}

	tmpOut := o.out + ".partial"
	f, err := os.Create(tmpOut)
	if err != nil {
		return err
	}
	defer os.Remove(tmpOut)
	bw := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(bw)
	for i, path := range layerFiles {
		name := layerNames[i]
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimSuffix(name, "layer.tar"), Mode: 0o755, ModTime: o.modTime, Format: tar.FormatUSTAR}); err != nil {
			return err
		}
		if err := copyFileInto(tw, path, name, o.modTime); err != nil {
			return err
		}
		os.Remove(path) // free the disk space early
	}
	for _, e := range []struct {
		name string
		data []byte
	}{{configName, config}, {"manifest.json", manifest}, {"repositories", repositories}} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.name, Mode: 0o644, Size: int64(len(e.data)), ModTime: o.modTime, Format: tar.FormatUSTAR}); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmpOut, o.out)
}

func copyFileInto(tw *tar.Writer, path, name string, mtime time.Time) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: st.Size(), ModTime: mtime, Format: tar.FormatUSTAR}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// writeLayer writes files [from, to) as an uncompressed layer tar at path and
// returns its sha256 in hex.
func writeLayer(o options, path string, layer, from, to int) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	lw := &layerWriter{tw: tar.NewWriter(bw), mtime: o.modTime, made: map[string]bool{}}

	if layer == 0 {
		if err := lw.dir("etc"); err != nil {
			return "", err
		}
		osRelease := "NAME=\"mkbigimage\"\nID=mkbigimage\nVERSION_ID=1\nPRETTY_NAME=\"synthetic image with many small files\"\n"
		if err := lw.file("etc/os-release", []byte(osRelease)); err != nil {
			return "", err
		}
	}
	if err := lw.dir("data"); err != nil {
		return "", err
	}
	d := depth(o.files, o.perDir)
	rng := rand.New(rand.NewPCG(o.seed, uint64(layer)))
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n"
	buf := make([]byte, o.maxSize)
	for i := from; i < to; i++ {
		parts := filePath(i, d, o.perDir)
		dir := "data"
		for _, p := range parts[:len(parts)-1] {
			dir += "/" + p
			if err := lw.dir(dir); err != nil {
				return "", err
			}
		}
		n := o.minSize + rng.IntN(o.maxSize-o.minSize+1)
		content := buf[:n]
		for k := range content {
			content[k] = alphabet[rng.IntN(len(alphabet))]
		}
		if err := lw.file(dir+"/"+parts[len(parts)-1], content); err != nil {
			return "", err
		}
		if o.progress && (i-from+1)%250_000 == 0 {
			log.Printf("layer %d: %d/%d files", layer, i-from+1, to-from)
		}
	}
	if err := lw.tw.Close(); err != nil {
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// layerWriter writes one layer's entries. It remembers only the directories
// of the current path (entries come in path order), so memory stays small.
type layerWriter struct {
	tw    *tar.Writer
	mtime time.Time
	made  map[string]bool
}

func (w *layerWriter) dir(name string) error {
	if w.made[name] {
		return nil
	}
	// Forget directories that are not ancestors of name: the walk never
	// returns to them.
	for d := range w.made {
		if !strings.HasPrefix(name, d+"/") {
			delete(w.made, d)
		}
	}
	w.made[name] = true
	return w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: w.mtime, Format: tar.FormatUSTAR})
}

func (w *layerWriter) file(name string, data []byte) error {
	if err := w.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: w.mtime, Format: tar.FormatUSTAR}); err != nil {
		return err
	}
	_, err := w.tw.Write(data)
	return err
}
