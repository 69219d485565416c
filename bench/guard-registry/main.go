// Command guard-registry measures `picket guard registry` against the
// registry it fronts, in the same run (bench/guard-registry.sh builds and
// runs it):
//
//   - a pull of one large blob (500 MiB of random bytes) straight from the
//     upstream and through the guard: throughput of each, the ratio, and
//     the guard's resident memory before and at its peak during the pull;
//   - N (1,000) small manifest GETs, sequential, straight from the upstream,
//     through the guard as an ungated developer, and as a gated production
//     identity (tag resolved, verdict looked up, CEL policy, cosign
//     signature): p50/p99 latency and the p99 the guard adds.
//
// It starts Debian's docker-registry and the picket binary itself, on
// loopback ports, with all files under -work.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/picket-cdr/picket/internal/guard/registry"
	"github.com/picket-cdr/picket/internal/vulndb"
)

var (
	picket   = flag.String("picket", "bin/picket", "picket binary")
	regBin   = flag.String("registry", "/usr/bin/docker-registry", "docker-registry binary")
	work     = flag.String("work", ".bench/guard-registry", "work directory")
	layerMiB = flag.Int("layer-mib", 500, "size of the large blob")
	requests = flag.Int("requests", 1000, "small manifest requests per path")
	runs     = flag.Int("runs", 3, "large pulls per path (best kept)")
	osvDir   = flag.String("osv", "internal/guard/registry/testdata/osv-alpine", "OSV records for the scanner's database")
	jsonOut  = flag.String("json", "", "write the results as JSON here")
	syncMode = flag.String("audit-sync", "each", "the guard's --audit-sync")
)

var users = map[string]string{"dev": "dev-bench-pw", "prod": "prod-bench-pw", "scanner": "scanner-bench-pw", "admin": "admin-bench-pw"}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "guard-registry bench:", err)
		os.Exit(1)
	}
}

type proc struct {
	cmd *exec.Cmd
}

func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitHTTP(u string, ok func(int) bool) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if ok(resp.StatusCode) {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not come up", u)
}

func start(logName string, name string, args ...string) (*proc, error) {
	logf, err := os.Create(filepath.Join(*work, logName))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &proc{cmd: cmd}, nil
}

type result struct {
	LayerMiB        int     `json:"layerMiB"`
	DirectMBps      float64 `json:"directMBps"`
	GuardMBps       float64 `json:"guardMBps"`
	ThroughputRatio float64 `json:"throughputRatio"`
	// The guard with --blob-storage (blobs sent from the registry's files).
	StorageMBps            float64 `json:"guardBlobStorageMBps"`
	StorageThroughputRatio float64 `json:"guardBlobStorageThroughputRatio"`
	RSSBeforeMiB           float64 `json:"guardRSSBeforeMiB"`
	RSSPeakMiB             float64 `json:"guardRSSPeakMiB"`
	// GuardUserCopiedPerByte is the guard's read(2)+write(2) bytes per
	// blob byte during the pulls (2: each byte read once and written once,
	// i.e. streamed; 0 would mean spliced in the kernel).
	GuardUserCopiedPerByte float64 `json:"guardUserCopiedPerByte"`
	Requests               int     `json:"requests"`
	Direct                 lat     `json:"direct"`
	GuardDeveloper         lat     `json:"guardDeveloper"`
	GuardProduction        lat     `json:"guardProduction"`
	AddedP99DevMS          float64 `json:"addedP99DeveloperMs"`
	AddedP99ProdMS         float64 `json:"addedP99ProductionMs"`
}

type lat struct {
	P50MS float64 `json:"p50Ms"`
	P99MS float64 `json:"p99Ms"`
}

func run() error {
	if err := os.MkdirAll(*work, 0o755); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(*work, "run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// Upstream: Debian's docker-registry.
	regAddr, err := freeAddr()
	if err != nil {
		return err
	}
	cfg := fmt.Sprintf("version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: %q}\n  delete: {enabled: true}\nhttp:\n  addr: %q\n  secret: %s\n",
		filepath.Join(dir, "storage"), regAddr, randHex(16))
	if err := os.MkdirAll(filepath.Join(dir, "storage"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "registry.yml"), []byte(cfg), 0o600); err != nil {
		return err
	}
	reg, err := start("registry.log", *regBin, "serve", filepath.Join(dir, "registry.yml"))
	if err != nil {
		return fmt.Errorf("starting %s: %w", *regBin, err)
	}
	defer reg.stop()
	upstream := "http://" + regAddr
	if err := waitHTTP(upstream+"/v2/", func(c int) bool { return c == 200 }); err != nil {
		return err
	}

	// Guard: users, a cosign key, policy, vulnerability database.
	var ht strings.Builder
	for u, p := range users {
		h, _ := bcrypt.GenerateFromPassword([]byte(p), bcrypt.DefaultCost)
		fmt.Fprintf(&ht, "%s:%s\n", u, h)
	}
	os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(ht.String()), 0o600)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	os.WriteFile(filepath.Join(dir, "cosign.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	policy := fmt.Sprintf(`service: picket-bench
htpasswd: %[1]s/htpasswd
grants:
  - {subjects: [dev], role: developer, repositories: ["bench/**"]}
  - {subjects: [prod], role: production, repositories: ["bench/**"]}
  - {subjects: [scanner], role: scanner, repositories: ["**"]}
  - {subjects: [admin], role: admin, repositories: ["**"]}
gate:
  signatures: {keys: [%[1]s/cosign.pub]}
`, dir)
	os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(policy), 0o600)
	dbDir := filepath.Join(dir, "db")
	if _, err := vulndb.Import(dbDir, *osvDir); err != nil {
		return err
	}
	// startGuard runs a guard on a free port; extra are more flags.
	startGuard := func(name string, extra ...string) (*proc, string, error) {
		addr, err := freeAddr()
		if err != nil {
			return nil, "", err
		}
		args := append([]string{"guard", "registry", "serve", "--listen", addr, "--upstream", upstream,
			"--policy", filepath.Join(dir, "policy.yaml"), "--audit-log", filepath.Join(dir, name+".audit.jsonl"),
			"--state-dir", filepath.Join(dir, name+".state"), "--db-dir", dbDir, "--db-poll", "0", "--log-level", "warn",
			"--audit-sync", *syncMode}, extra...)
		p, err := start(name+".log", *picket, args...)
		if err != nil {
			return nil, "", err
		}
		if err := waitHTTP("http://"+addr+"/healthz", func(c int) bool { return c == 200 }); err != nil {
			p.stop()
			return nil, "", err
		}
		return p, addr, nil
	}
	guard, guardAddr, err := startGuard("guard")
	if err != nil {
		return err
	}
	defer guard.stop()
	guardURL := "http://" + guardAddr
	// The same guard configuration with --blob-storage: blobs from the
	// registry's files.
	sguard, sguardAddr, err := startGuard("guard-storage", "--blob-storage", filepath.Join(dir, "storage"))
	if err != nil {
		return err
	}
	defer sguard.stop()
	sguardURL := "http://" + sguardAddr
	pid := guard.cmd.Process.Pid
	res := result{LayerMiB: *layerMiB, Requests: *requests}

	// The large blob, uploaded straight to the upstream.
	fmt.Fprintf(os.Stderr, "== writing and uploading a %d MiB blob\n", *layerMiB)
	blob := filepath.Join(dir, "blob.bin")
	digest, size, err := writeRandom(blob, int64(*layerMiB)<<20)
	if err != nil {
		return err
	}
	if err := uploadBlob(upstream, "bench/big", blob, digest, size); err != nil {
		return err
	}
	scanTok, err := token(guardURL, "scanner", "repository:bench/big:pull")
	if err != nil {
		return err
	}
	sscanTok, err := token(sguardURL, "scanner", "repository:bench/big:pull")
	if err != nil {
		return err
	}
	res.RSSBeforeMiB = rssMiB(pid)
	io0 := procIO(pid)
	var bestDirect, bestGuard, bestStorage time.Duration
	var peak atomic.Int64
	for i := range *runs {
		d, err := pull(upstream+"/v2/bench/big/blobs/"+digest, "", size)
		if err != nil {
			return err
		}
		stop := sampleRSS(pid, &peak)
		g, err := pull(guardURL+"/v2/bench/big/blobs/"+digest, scanTok, size)
		stop()
		if err != nil {
			return err
		}
		sg, err := pull(sguardURL+"/v2/bench/big/blobs/"+digest, sscanTok, size)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "   run %d: direct %.2fs, guard %.2fs, guard --blob-storage %.2fs\n", i+1, d.Seconds(), g.Seconds(), sg.Seconds())
		if bestStorage == 0 || sg < bestStorage {
			bestStorage = sg
		}
		if bestDirect == 0 || d < bestDirect {
			bestDirect = d
		}
		if bestGuard == 0 || g < bestGuard {
			bestGuard = g
		}
	}
	io1 := procIO(pid)
	res.GuardUserCopiedPerByte = float64(io1-io0) / float64(int64(*runs)*size)
	mb := float64(size) / 1e6
	res.DirectMBps, res.GuardMBps = mb/bestDirect.Seconds(), mb/bestGuard.Seconds()
	res.ThroughputRatio = res.GuardMBps / res.DirectMBps
	res.StorageMBps = mb / bestStorage.Seconds()
	res.StorageThroughputRatio = res.StorageMBps / res.DirectMBps
	res.RSSPeakMiB = float64(peak.Load()) / 1024

	// A small image pushed through the guard (scanned on push), signed.
	fmt.Fprintf(os.Stderr, "== %d small manifest requests per path\n", *requests)
	img, err := random.Image(1024, 1)
	if err != nil {
		return err
	}
	ref, _ := name.ParseReference(guardAddr+"/bench/small:1", name.Insecure)
	devAuth := remote.WithAuth(&authn.Basic{Username: "dev", Password: users["dev"]})
	if err := remote.Write(ref, img, devAuth); err != nil {
		return fmt.Errorf("push through the guard: %w", err)
	}
	d, _ := img.Digest()
	if err := sign(guardAddr, "bench/small", d.String(), key, devAuth); err != nil {
		return err
	}
	if err := waitVerdict(guardURL, d.String()); err != nil {
		return err
	}
	devTok, err := token(guardURL, "dev", "repository:bench/small:pull")
	if err != nil {
		return err
	}
	prodTok, err := token(guardURL, "prod", "repository:bench/small:pull")
	if err != nil {
		return err
	}
	path := "/v2/bench/small/manifests/1"
	// Warm up connections and caches, then measure.
	for _, p := range []struct{ base, tok string }{{upstream, ""}, {guardURL, devTok}, {guardURL, prodTok}} {
		if _, err := latencies(p.base+path, p.tok, 20); err != nil {
			return err
		}
	}
	dl, err := latencies(upstream+path, "", *requests)
	if err != nil {
		return err
	}
	gl, err := latencies(guardURL+path, devTok, *requests)
	if err != nil {
		return err
	}
	pl, err := latencies(guardURL+path, prodTok, *requests)
	if err != nil {
		return fmt.Errorf("production (gated) pulls: %w", err)
	}
	res.Direct, res.GuardDeveloper, res.GuardProduction = summary(dl), summary(gl), summary(pl)
	res.AddedP99DevMS = res.GuardDeveloper.P99MS - res.Direct.P99MS
	res.AddedP99ProdMS = res.GuardProduction.P99MS - res.Direct.P99MS

	fmt.Printf("\nlarge blob pull (%d MiB, best of %d)\n", *layerMiB, *runs)
	fmt.Printf("  direct  %8.1f MB/s\n  guard   %8.1f MB/s\n  throughput ratio guard/direct: %.3f\n", res.DirectMBps, res.GuardMBps, res.ThroughputRatio)
	fmt.Printf("  guard --blob-storage %8.1f MB/s\n  throughput ratio guard --blob-storage/direct: %.3f\n", res.StorageMBps, res.StorageThroughputRatio)
	fmt.Printf("  guard RSS: %.1f MiB before, %.1f MiB peak during the pulls\n", res.RSSBeforeMiB, res.RSSPeakMiB)
	fmt.Printf("  guard read+write syscall bytes per blob byte: %.3f (0: spliced in the kernel, 2: copied through user space)\n", res.GuardUserCopiedPerByte)
	fmt.Printf("\n%d small manifest GETs (sequential, keep-alive; audit fsync: %s)\n", *requests, *syncMode)
	fmt.Printf("  %-28s p50 %6.2f ms  p99 %6.2f ms\n", "direct", res.Direct.P50MS, res.Direct.P99MS)
	fmt.Printf("  %-28s p50 %6.2f ms  p99 %6.2f ms  (+%.2f ms p99)\n", "guard, developer (ungated)", res.GuardDeveloper.P50MS, res.GuardDeveloper.P99MS, res.AddedP99DevMS)
	fmt.Printf("  %-28s p50 %6.2f ms  p99 %6.2f ms  (+%.2f ms p99)\n", "guard, production (gated)", res.GuardProduction.P50MS, res.GuardProduction.P99MS, res.AddedP99ProdMS)
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// writeRandom writes n pseudo-random bytes (ChaCha8) and returns their digest.
func writeRandom(p string, n int64) (string, int64, error) {
	f, err := os.Create(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	var seed [32]byte
	rand.Read(seed[:])
	src := mrand.NewChaCha8(seed)
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if _, err := io.CopyN(w, src, n); err != nil {
		return "", 0, err
	}
	if err := w.Flush(); err != nil {
		return "", 0, err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), n, f.Close()
}

func uploadBlob(base, repo, p, digest string, size int64) error {
	resp, err := http.Post(base+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("upload start: %s", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return err
	}
	u, _ := url.Parse(base)
	loc = u.ResolveReference(loc)
	q := loc.Query()
	q.Set("digest", digest)
	loc.RawQuery = q.Encode()
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	req, _ := http.NewRequest(http.MethodPut, loc.String(), f)
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("upload: %s", resp.Status)
	}
	return nil
}

func token(base, user, scope string) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, base+"/token?service=picket-bench&scope="+url.QueryEscape(scope), nil)
	req.SetBasicAuth(user, users[user])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		return "", fmt.Errorf("token for %s: %s", user, resp.Status)
	}
	return out.Token, nil
}

// sink discards without io.ReaderFrom, so CopyBuffer uses our buffer.
type sink struct{ n int64 }

func (s *sink) Write(p []byte) (int, error) { s.n += int64(len(p)); return len(p), nil }

func pull(u, tok string, want int64) (time.Duration, error) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	s := &sink{}
	if _, err := io.CopyBuffer(s, resp.Body, make([]byte, 1<<20)); err != nil {
		return 0, err
	}
	if s.n != want {
		return 0, fmt.Errorf("GET %s: %d bytes, want %d", u, s.n, want)
	}
	return time.Since(start), nil
}

func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// procIO returns rchar+wchar of a process (bytes through read/write
// syscalls; splice(2) and sendfile(2) are not counted).
func procIO(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	var total int64
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok && (k == "rchar" || k == "wchar") {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			total += n
		}
	}
	return total
}

func rssMiB(pid int) float64 { return float64(rssKiB(pid)) / 1024 }

func sampleRSS(pid int, peak *atomic.Int64) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if r := rssKiB(pid); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

func sign(host, repo, digest string, key *ecdsa.PrivateKey, auth remote.Option) error {
	img, err := registry.SignatureImage(host+"/"+repo, digest, key)
	if err != nil {
		return err
	}
	ref, err := name.ParseReference(host+"/"+repo+":"+registry.SignatureTag(digest), name.Insecure)
	if err != nil {
		return err
	}
	return remote.Write(ref, img, auth)
}

func waitVerdict(base, digest string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, base+"/-/picket/verdicts/"+digest, nil)
		req.SetBasicAuth("admin", users["admin"])
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				if !bytes.Contains(b, []byte(`"status":"scanned"`)) {
					return fmt.Errorf("verdict: %s", b)
				}
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("no verdict for %s", digest)
}

func latencies(u, tok string, n int) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for range n {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

func summary(d []time.Duration) lat {
	s := slices.Clone(d)
	slices.Sort(s)
	q := func(p float64) float64 {
		i := int(p*float64(len(s)-1) + 0.5)
		return float64(s[i].Microseconds()) / 1000
	}
	return lat{P50MS: q(0.50), P99MS: q(0.99)}
}
