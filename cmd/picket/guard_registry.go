package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"github.com/picket-cdr/picket/internal/audit"
	"github.com/picket-cdr/picket/internal/cache"
	"github.com/picket-cdr/picket/internal/guard/registry"
)

func init() { registerGuardCommand(newGuardRegistryCmd) }

func newGuardRegistryCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "A hardening proxy in front of an OCI registry: authentication, roles, audit, scan on push, pull gate, signatures",
		Long: `picket guard registry serves the OCI distribution API (/v2/) in front of
any registry. Clients (docker, crane, skopeo) log in to the guard with the
Docker token flow; the guard checks every request against roles granted per
repository pattern, scans every pushed image with Picket's scanner, refuses
pulls of images that fail the policy, were never scanned or lack a cosign
signature by a trusted key, and writes a hash-chained audit log.

See docs/guard-registry.md for the policy file.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newGuardRegistryServeCmd(g), newGuardRegistryRescanCmd(g), newGuardRegistryRobotCmd(g))
	return cmd
}

type guardRegistryFlags struct {
	listen, upstream, upstreamUser, upstreamPassFile, upstreamCA string
	upstreamInsecure                                             bool
	blobStorage                                                  string
	policy, stateDir                                             string
	tlsCert, tlsKey, clientCA                                    string
	auditLog, auditSync, syslog                                  string
	dbDir, cacheDir                                              string
	noScan                                                       bool
	scanWorkers, scanQueue                                       int
	scanTimeout, dbPoll                                          time.Duration
	metricsListen                                                string
}

func defaultGuardStateDir() string {
	d, err := cache.DefaultDir()
	if err != nil {
		return "picket-registry-guard"
	}
	return filepath.Join(filepath.Dir(d), "picket-registry-guard")
}

func newGuardRegistryServeCmd(g *globalFlags) *cobra.Command {
	f := &guardRegistryFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the registry guard",
		Long: `Run the registry guard in front of --upstream.

The policy file (--policy, YAML) names the htpasswd file, robot accounts,
role grants per repository pattern, IP rules, rate limits, immutable tags,
the pull gate (CEL policies, required cosign keys) and webhooks. SIGHUP
reloads it (and the htpasswd file); a bad file keeps the running policy.

Every request is written to --audit-log (hash-chained JSON lines, fsynced;
check it with 'picket audit verify FILE'); when it cannot be written the
guard refuses requests. Pushed images are scanned in the background with
the vulnerability database in --db-dir (see 'picket db'); when the database
changes (checked every --db-poll) every stored verdict is rescanned.

The scanner reads images straight from the upstream; with
--upstream-username it is given the same credentials through a private
Docker config in the state directory.

When the guard runs on the registry's host, --blob-storage names the
registry's filesystem storage root (its rootdirectory): authorized blob
downloads are then sent from the files with sendfile instead of through
the registry, and only for blobs the repository links (as the registry
checks); anything else still goes to the upstream.

Exit codes: 0 clean shutdown, 2 error.`,
		Example: `  # plain HTTP on loopback in front of a local registry
  picket guard registry serve --upstream http://127.0.0.1:5000 \
      --policy guard.yaml --audit-log /var/log/picket/registry.audit.jsonl

  # next to the registry: blobs straight from its storage
  picket guard registry serve --upstream http://127.0.0.1:5000 \
      --blob-storage /var/lib/docker-registry \
      --policy guard.yaml --audit-log /var/log/picket/registry.audit.jsonl

  # TLS, mutual TLS for machines, metrics for Prometheus
  picket guard registry serve --listen :443 --tls-cert crt.pem --tls-key key.pem \
      --client-ca machines-ca.pem --upstream https://registry.internal:5000 \
      --upstream-username guard --upstream-password-file /run/secrets/upstream \
      --policy /etc/picket/registry.yaml --audit-log /var/log/picket/registry.audit.jsonl \
      --syslog local --metrics-listen 127.0.0.1:9464`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGuardRegistry(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:5080", "address to serve the registry API on")
	fl.StringVar(&f.upstream, "upstream", "", "upstream registry URL, e.g. http://127.0.0.1:5000 (required)")
	fl.StringVar(&f.upstreamUser, "upstream-username", "", "the guard's user at the upstream (HTTP basic, or the upstream's token flow)")
	fl.StringVar(&f.upstreamPassFile, "upstream-password-file", "", "file holding the upstream password (or set PICKET_UPSTREAM_PASSWORD)")
	fl.StringVar(&f.upstreamCA, "upstream-ca", "", "PEM CA bundle to verify the upstream's TLS certificate")
	fl.BoolVar(&f.upstreamInsecure, "upstream-insecure", false, "do not verify the upstream's TLS certificate")
	fl.StringVar(&f.blobStorage, "blob-storage", "", "the upstream's filesystem storage root (rootdirectory): serve authorized blob downloads from it")
	fl.StringVar(&f.policy, "policy", "", "guard policy file (YAML; required)")
	fl.StringVar(&f.stateDir, "state-dir", defaultGuardStateDir(), "verdict store and token signing key")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "private key of --tls-cert (PEM)")
	fl.StringVar(&f.clientCA, "client-ca", "", "verify client certificates against this CA (mTLS); a certificate with CN X is the identity cert:X")
	fl.StringVar(&f.auditLog, "audit-log", "", "audit log file (hash-chained JSON lines; required)")
	fl.StringVar(&f.auditSync, "audit-sync", "each", "fsync policy of the audit log: each, none, or a duration (e.g. 1s)")
	fl.StringVar(&f.syslog, "syslog", "", "also forward audit lines to syslog: local, or udp://HOST:PORT, tcp://HOST:PORT")
	fl.StringVar(&f.dbDir, "db-dir", defaultDBDir(), "vulnerability database directory (see `picket db`)")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "layer cache for scans (default: none)")
	fl.BoolVar(&f.noScan, "no-scan", false, "do not scan pushed images (the gate then denies unscanned images unless require_scan is off)")
	fl.IntVar(&f.scanWorkers, "scan-workers", 1, "images scanned at once")
	fl.IntVar(&f.scanQueue, "scan-queue", 256, "images waiting to be scanned at most (more are counted and left unscanned)")
	fl.DurationVar(&f.scanTimeout, "scan-timeout", 15*time.Minute, "give up on one scan after this long")
	fl.DurationVar(&f.dbPoll, "db-poll", 5*time.Minute, "check this often whether the vulnerability database changed, and rescan (0: never)")
	fl.StringVar(&f.metricsListen, "metrics-listen", "", "serve Prometheus metrics on this address (/metrics)")
	return cmd
}

func runGuardRegistry(ctx context.Context, g *globalFlags, f *guardRegistryFlags) error {
	if f.upstream == "" {
		return errors.New("--upstream is required")
	}
	if f.policy == "" {
		return errors.New("--policy is required")
	}
	if f.auditLog == "" {
		return errors.New("--audit-log is required (every request is audited)")
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if f.clientCA != "" && f.tlsCert == "" {
		return errors.New("--client-ca needs --tls-cert and --tls-key")
	}
	cfg, err := registry.LoadConfig(f.policy)
	if err != nil {
		return err
	}
	up, err := url.Parse(f.upstream)
	if err != nil || up.Host == "" {
		return fmt.Errorf("--upstream %q: want http(s)://HOST[:PORT]", f.upstream)
	}
	pass := os.Getenv("PICKET_UPSTREAM_PASSWORD")
	if f.upstreamPassFile != "" {
		b, err := os.ReadFile(f.upstreamPassFile)
		if err != nil {
			return fmt.Errorf("--upstream-password-file: %w", err)
		}
		pass = strings.TrimRight(string(b), "\r\n")
	}
	var upTLS *tls.Config
	if f.upstreamCA != "" || f.upstreamInsecure {
		upTLS = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: f.upstreamInsecure} //nolint:gosec // the user asked for it
		if f.upstreamCA != "" {
			pool, err := loadPool(f.upstreamCA)
			if err != nil {
				return fmt.Errorf("--upstream-ca: %w", err)
			}
			upTLS.RootCAs = pool
		}
	}
	if err := os.MkdirAll(f.stateDir, 0o700); err != nil {
		return fmt.Errorf("--state-dir: %w", err)
	}
	if f.upstreamUser != "" {
		if err := scannerDockerConfig(f.stateDir, up.Host, f.upstreamUser, pass); err != nil {
			return err
		}
	}
	var aopts []audit.Option
	switch f.auditSync {
	case "each":
	case "none":
		aopts = append(aopts, audit.WithSync(audit.SyncNone))
	default:
		d, err := time.ParseDuration(f.auditSync)
		if err != nil || d <= 0 {
			return fmt.Errorf("--audit-sync %q: want each, none or a duration", f.auditSync)
		}
		aopts = append(aopts, audit.WithSync(audit.SyncInterval(d)))
	}
	if f.syslog != "" {
		network, addr := "", ""
		if f.syslog != "local" {
			su, err := url.Parse(f.syslog)
			if err != nil || (su.Scheme != "udp" && su.Scheme != "tcp") || su.Host == "" {
				return fmt.Errorf("--syslog %q: want local, udp://HOST:PORT or tcp://HOST:PORT", f.syslog)
			}
			network, addr = su.Scheme, su.Host
		}
		sl, err := audit.DialSyslog(network, addr, "picket-registry-guard")
		if err != nil {
			return fmt.Errorf("--syslog: %w", err)
		}
		defer sl.Close()
		aopts = append(aopts, audit.WithForwarder(sl))
	}
	aw, err := audit.Open(f.auditLog, aopts...)
	if err != nil {
		return err
	}
	defer aw.Close()

	opts := registry.Options{
		Upstream: f.upstream, UpstreamUsername: f.upstreamUser, UpstreamPassword: pass, UpstreamTLS: upTLS,
		Config: cfg, ConfigPath: f.policy, StateDir: f.stateDir, ScanWorkers: f.scanWorkers,
		ScanQueue: f.scanQueue, ScanTimeout: f.scanTimeout, Audit: aw, Logger: g.logger,
		BlobStorage: f.blobStorage,
	}
	var engine *registry.EngineScanner
	if !f.noScan {
		engine = &registry.EngineScanner{DBDir: f.dbDir, CacheDir: f.cacheDir, Insecure: up.Scheme == "http" || f.upstreamInsecure,
			Version: buildVersion(), Logger: g.logger}
		opts.Scanner = engine
	}
	guard, err := registry.New(opts)
	if err != nil {
		return err
	}
	defer guard.Close()

	srv := &http.Server{Addr: f.listen, Handler: guard, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
		ErrorLog: slog.NewLogLogger(g.logger.Handler(), slog.LevelWarn)}
	if f.tlsCert != "" {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if f.clientCA != "" {
			pool, err := loadPool(f.clientCA)
			if err != nil {
				return fmt.Errorf("--client-ca: %w", err)
			}
			// Certificates are verified when presented; clients without
			// one still log in with passwords.
			srv.TLSConfig.ClientCAs, srv.TLSConfig.ClientAuth = pool, tls.VerifyClientCertIfGiven
		}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	errc := make(chan error, 2)
	go func() {
		if f.tlsCert != "" {
			errc <- srv.ServeTLS(ln, f.tlsCert, f.tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	var msrv *http.Server
	if f.metricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", guard.MetricsHandler())
		msrv = &http.Server{Addr: f.metricsListen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- msrv.ListenAndServe() }()
	}
	g.logger.Info("registry guard listening", "listen", ln.Addr().String(), "upstream", f.upstream, "tls", f.tlsCert != "")
	fmt.Fprintf(os.Stderr, "picket: registry guard on %s -> %s\n", ln.Addr(), f.upstream)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var poll <-chan time.Time
	lastDB := ""
	if engine != nil && f.dbPoll > 0 {
		lastDB, _ = engine.DBState()
		t := time.NewTicker(f.dbPoll)
		defer t.Stop()
		poll = t.C
	}
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			if msrv != nil {
				_ = msrv.Shutdown(sctx)
			}
			return nil
		case err := <-errc:
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return fmt.Errorf("registry guard: %w", err)
		case <-hup:
			if err := guard.Reload(); err != nil {
				g.logger.Error("reload failed; keeping the running policy", "err", err)
			} else {
				g.logger.Info("policy reloaded", "file", f.policy)
			}
		case <-poll:
			cur, err := engine.DBState()
			if err != nil {
				g.logger.Warn("vulnerability database unreadable", "err", err)
				continue
			}
			if cur != lastDB {
				lastDB = cur
				n, err := guard.Rescan()
				g.logger.Info("vulnerability database changed; rescanning", "queued", n, "err", err)
			}
		}
	}
}

func loadPool(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s: no PEM certificates", path)
	}
	return pool, nil
}

// scannerDockerConfig gives the in-process scanner (which reads registries
// with the Docker config's credentials) the upstream credentials through a
// private config file.
func scannerDockerConfig(stateDir, host, user, pass string) error {
	dir := filepath.Join(stateDir, "docker")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{
		"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))}}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		return err
	}
	return os.Setenv("DOCKER_CONFIG", dir)
}

func newGuardRegistryRescanCmd(_ *globalFlags) *cobra.Command {
	var guardURL, user string
	var passStdin, insecure bool
	cmd := &cobra.Command{
		Use:   "rescan",
		Short: "Ask a running guard to rescan every stored image (after a vulnerability database update)",
		Long: `Queue every image the guard has a verdict for to be scanned again with the
current vulnerability database. The guard also does this by itself when it
notices the database changed (--db-poll). Needs an admin account.`,
		Example: `  echo "$ADMIN_PASSWORD" | picket guard registry rescan --url https://registry.example.com --username admin --password-stdin`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if guardURL == "" || user == "" {
				return errors.New("--url and --username are required")
			}
			pass := os.Getenv("PICKET_GUARD_PASSWORD")
			if passStdin {
				b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4096))
				if err != nil {
					return err
				}
				pass = strings.TrimRight(string(b), "\r\n")
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, strings.TrimRight(guardURL, "/")+"/-/picket/rescan", nil)
			if err != nil {
				return fmt.Errorf("--url: %w", err)
			}
			req.SetBasicAuth(user, pass)
			client := &http.Client{Timeout: time.Minute}
			if insecure {
				client.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // asked for
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("guard answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
			}
			var out struct {
				Queued int `json:"queued"`
			}
			if err := json.Unmarshal(body, &out); err != nil {
				return fmt.Errorf("guard answer: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "queued %d images for rescanning\n", out.Queued)
			return nil
		},
	}
	cmd.Flags().StringVar(&guardURL, "url", "", "the guard's URL, e.g. https://registry.example.com")
	cmd.Flags().StringVar(&user, "username", "", "admin user")
	cmd.Flags().BoolVar(&passStdin, "password-stdin", false, "read the password from standard input (else PICKET_GUARD_PASSWORD)")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "do not verify the guard's TLS certificate")
	return cmd
}

func newGuardRegistryRobotCmd(_ *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "robot", Short: "Robot accounts (expiring machine credentials)", Args: cobra.NoArgs}
	var role string
	var repos []string
	var ttl time.Duration
	var desc string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Generate a robot account: prints its secret once and the policy entry to add",
		Long: `Generate a robot account. The secret is printed once; the guard stores only
its bcrypt hash. Append the printed YAML under "robots:" in the policy file
and reload the guard (SIGHUP). Clients log in as robot$NAME with the secret;
the account stops working at its expiry.`,
		Example: `  picket guard registry robot create ci --role developer --repository 'team-a/**' --ttl 720h`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ttl <= 0 {
				return errors.New("--ttl must be positive")
			}
			var raw [24]byte
			if _, err := rand.Read(raw[:]); err != nil {
				return err
			}
			secret := base64.RawURLEncoding.EncodeToString(raw[:])
			hash, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.DefaultCost)
			if err != nil {
				return err
			}
			r := registry.Robot{Name: args[0], SecretHash: string(hash), Expires: time.Now().Add(ttl).UTC().Truncate(time.Second),
				Role: role, Repositories: repos, Description: desc}
			// Validate exactly as the guard will.
			y, err := yaml.Marshal(map[string]any{"robots": []registry.Robot{r}})
			if err != nil {
				return err
			}
			if _, err := registry.ParseConfig(y); err != nil {
				return err
			}
			item, err := yaml.Marshal([]registry.Robot{r})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "user:   %s%s\nsecret: %s\n(shown once; add the entry below under \"robots:\" in the policy file and reload the guard)\n",
				registry.RobotPrefix, r.Name, secret)
			_, err = cmd.OutOrStdout().Write(item)
			return err
		},
	}
	create.Flags().StringVar(&role, "role", "developer", "role: "+strings.Join(registry.Roles, ", "))
	create.Flags().StringSliceVar(&repos, "repository", nil, "repository patterns the role applies to (repeatable; * one component, ** any)")
	create.Flags().DurationVar(&ttl, "ttl", 30*24*time.Hour, "lifetime of the account")
	create.Flags().StringVar(&desc, "description", "", "what the robot is for")
	_ = create.MarkFlagRequired("repository")
	cmd.AddCommand(create)
	return cmd
}
