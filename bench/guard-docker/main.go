// Command guard-docker is the helper of bench/guard-docker.sh.
//
//	go run ./bench/guard-docker mkimage -size 1024 -layers 4 -tag picket-test-guard-bench:1 -o img.tar
//	go run ./bench/guard-docker latency -n 3000 -direct /var/run/docker.sock -guard /tmp/g.sock
//
// mkimage streams a `docker save` archive of an image FROM scratch whose
// layers each hold one file of pseudo-random (incompressible) bytes; memory
// stays constant whatever the size. latency sends the same GET to the
// daemon directly and through the guard, alternating, over keep-alive
// connections, and prints p50/p99 of each and the latency the guard adds.
package main

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: guard-docker mkimage|latency [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "mkimage":
		err = mkimage(os.Args[2:])
	case "latency":
		err = latency(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "guard-docker:", err)
		os.Exit(2)
	}
}

func mkimage(args []string) error {
	fs := flag.NewFlagSet("mkimage", flag.ExitOnError)
	sizeMiB := fs.Int("size", 1024, "total layer data in MiB")
	layers := fs.Int("layers", 4, "number of layers")
	tag := fs.String("tag", "picket-test-guard-bench:1", "image tag")
	out := fs.String("o", "", "output archive")
	seed := fs.Uint64("seed", 1, "random seed")
	fs.Parse(args)
	if *out == "" || *layers < 1 || *sizeMiB < *layers {
		return errors.New("mkimage: need -o, -layers >= 1 and -size >= layers")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	per := int64(*sizeMiB) << 20 / int64(*layers)
	per -= per % 512
	rng := rand.NewChaCha8([32]byte{byte(*seed), byte(*seed >> 8)})
	var diffIDs, files []string
	mtime := time.Unix(1700000000, 0)
	for i := 0; i < *layers; i++ {
		// One file of per bytes: the layer tar is a 512-byte header, the
		// data (a multiple of 512) and the 1024-byte end marker.
		layerSize := 512 + per + 1024
		name := fmt.Sprintf("layer%d.tar", i)
		if err := tw.WriteHeader(&tar.Header{Name: name, Size: layerSize, Mode: 0o644, ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		h := sha256.New()
		cw := &countWriter{w: io.MultiWriter(tw, h)}
		inner := tar.NewWriter(cw)
		if err := inner.WriteHeader(&tar.Header{Name: fmt.Sprintf("data/blob%d.bin", i), Size: per, Mode: 0o644, ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := io.CopyN(inner, rng, per); err != nil {
			return err
		}
		if err := inner.Close(); err != nil {
			return err
		}
		if cw.n != layerSize {
			return fmt.Errorf("layer %d: wrote %d bytes, announced %d", i, cw.n, layerSize)
		}
		diffIDs = append(diffIDs, "sha256:"+hex.EncodeToString(h.Sum(nil)))
		files = append(files, name)
	}
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux", "created": mtime.UTC().Format(time.RFC3339),
		"config": map[string]any{"Cmd": []string{"/data/none"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	sum := sha256.Sum256(config)
	cfgName := hex.EncodeToString(sum[:]) + ".json"
	manifest, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{*tag}, "Layers": files}})
	for _, e := range []struct {
		name string
		data []byte
	}{{cfgName, config}, {"manifest.json", manifest}} {
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Size: int64(len(e.data)), Mode: 0o644, ModTime: mtime, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

func unixClient(sock string) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			},
			MaxIdleConnsPerHost: 4,
		},
	}
}

func latency(args []string) error {
	fs := flag.NewFlagSet("latency", flag.ExitOnError)
	n := fs.Int("n", 2000, "requests to each target")
	warm := fs.Int("warmup", 100, "unmeasured requests to each target first")
	direct := fs.String("direct", "/var/run/docker.sock", "daemon socket")
	guard := fs.String("guard", "", "guard socket")
	path := fs.String("path", "/v1.41/containers/json", "request path")
	fs.Parse(args)
	if *guard == "" || *n < 10 {
		return errors.New("latency: need -guard and -n >= 10")
	}
	dc, gc := unixClient(*direct), unixClient(*guard)
	get := func(c *http.Client) (time.Duration, error) {
		start := time.Now()
		resp, err := c.Get("http://docker" + *path)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return 0, fmt.Errorf("GET %s: %s", *path, resp.Status)
		}
		return time.Since(start), err
	}
	var ds, gs []time.Duration
	for i := 0; i < *warm+*n; i++ {
		d1, err := get(dc)
		if err != nil {
			return fmt.Errorf("direct: %w", err)
		}
		d2, err := get(gc)
		if err != nil {
			return fmt.Errorf("guard: %w", err)
		}
		if i >= *warm {
			ds, gs = append(ds, d1), append(gs, d2)
		}
	}
	pct := func(xs []time.Duration, p float64) time.Duration {
		s := slices.Clone(xs)
		slices.Sort(s)
		return s[int(p*float64(len(s)-1))]
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	dp50, dp99, gp50, gp99 := pct(ds, .5), pct(ds, .99), pct(gs, .5), pct(gs, .99)
	fmt.Printf("requests=%d\n", *n)
	fmt.Printf("direct_p50_ms=%.3f\ndirect_p99_ms=%.3f\nguard_p50_ms=%.3f\nguard_p99_ms=%.3f\n", ms(dp50), ms(dp99), ms(gp50), ms(gp99))
	fmt.Printf("added_p50_ms=%.3f\nadded_p99_ms=%.3f\n", ms(gp50-dp50), ms(gp99-dp99))
	fmt.Printf("ratio_p50=%.2f\nratio_p99=%.2f\n", float64(gp50)/float64(dp50), float64(gp99)/float64(dp99))
	return nil
}
