#!/usr/bin/env bash
# Secret scanning benchmark: Picket's secret analyzer against `gitleaks dir`
# on the same extracted directory tree.
#
#   bench/secrets-vs-gitleaks.sh              # from the repository root
#   RUNS=5 bench/secrets-vs-gitleaks.sh
#   ROOTFS=/some/rootfs bench/secrets-vs-gitleaks.sh   # another tree than bookworm
#
# The tree is the root filesystem of internal/testimage's bookworm image
# (debootstrap'ed Debian bookworm + python3-requests, node-lodash,
# liblog4j2-java and a Go binary; built or reused through
# `go run ./internal/testimage/cmd/mkimages -rootfs bookworm`), hard-linked (or copied) into .bench/ without
# /dev, /proc and /sys, plus a planted/ directory of fake credentials in the
# files where images leak them (.env, id_rsa, .docker/config.json,
# redis.conf, .git-credentials, .npmrc, source code, ...). Tools, each RUNS
# times (best wall time and best peak RSS kept):
#
#   picket              secretscan -json TREE (internal/analyzer/secret/cmd/secretscan:
#                       the analyzer run the way the layer walker runs it,
#                       files in parallel, built-in rules)
#   picket-gl           the same with gitleaks' own rules instead
#                       (-no-builtin -gitleaks-config ../shared/rules/gitleaks/gitleaks.toml)
#   gitleaks            gitleaks dir --no-banner --report-format json TREE (defaults:
#                       its default rules, --max-decode-depth 5)
#   gitleaks-nodecode   the same with --max-decode-depth 0
#
# gitleaks is installed with `go install` into .bench/bin. Prints findings
# (total, in planted/, elsewhere), planted files found, seconds, peak RSS and
# the time ratios; writes a JSON summary to bench/results/.
#
# Needs: go, python3, /usr/bin/time (apt-get installs `time` when missing and
# running as root); for the bookworm tree also Docker, root and debootstrap.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -f go.mod ] || [ ! -d bench ]; then echo "secrets-vs-gitleaks: cannot find the repository root" >&2; exit 2; fi

RUNS=${RUNS:-3}
TOOLS=${TOOLS:-"picket picket-gl gitleaks gitleaks-nodecode"}
GITLEAKS_VERSION=${GITLEAKS_VERSION:-v8.30.1}
SHARED=${PICKET_SHARED:-../shared}
WORK=$PWD/.bench
BIN=$WORK/bin
OUT=$WORK/secrets-vs-gitleaks
TREE=$OUT/tree
RESULTS=bench/results

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'secrets-vs-gitleaks: %s\n' "$*" >&2; exit 1; }
has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
for t in $TOOLS; do
	case $t in picket | picket-gl | gitleaks | gitleaks-nodecode) ;; *) die "unknown tool '$t' in TOOLS" ;; esac
done
command -v python3 >/dev/null || die "python3 is required"
command -v go >/dev/null || die "go is required"
if [ ! -x /usr/bin/time ]; then
	[ "$(id -u)" = 0 ] || die "/usr/bin/time is missing (apt-get install time)"
	say "installing GNU time"
	DEBIAN_FRONTEND=noninteractive apt-get install -y time >/dev/null
fi
GL_CONFIG=$SHARED/rules/gitleaks/gitleaks.toml
if has_tool picket-gl && [ ! -f "$GL_CONFIG" ]; then die "$GL_CONFIG is missing (set PICKET_SHARED)"; fi
mkdir -p "$BIN" "$OUT" "$RESULTS"

# --- tools -------------------------------------------------------------------
gitleaks_ok() { [ -x "$BIN/gitleaks" ] && go version -m "$BIN/gitleaks" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/zricethezav/gitleaks/v8[[:space:]]+$GITLEAKS_VERSION([[:space:]]|$)"; }
if { has_tool gitleaks || has_tool gitleaks-nodecode; } && ! gitleaks_ok; then
	say "installing gitleaks $GITLEAKS_VERSION with go install"
	GOBIN=$BIN go install "github.com/zricethezav/gitleaks/v8@$GITLEAKS_VERSION"
	gitleaks_ok || die "$BIN/gitleaks is not gitleaks $GITLEAKS_VERSION"
fi
say "building secretscan"
go build -o "$BIN/secretscan" ./internal/analyzer/secret/cmd/secretscan

# --- the tree ----------------------------------------------------------------
if [ -z "${ROOTFS:-}" ]; then
	say "building/reusing the bookworm test image"
	ROOTFS=$(go run ./internal/testimage/cmd/mkimages -q -rootfs bookworm)
fi
[ -d "$ROOTFS" ] || die "root filesystem $ROOTFS is not a directory"
say "preparing $TREE from $ROOTFS"
rm -rf "$TREE"
mkdir -p "$TREE"
if ! cp -al "$ROOTFS/." "$TREE/" 2>/dev/null; then
	rm -rf "$TREE"
	mkdir -p "$TREE"
	cp -a "$ROOTFS/." "$TREE/"
fi
rm -rf "${TREE:?}/dev" "${TREE:?}/proc" "${TREE:?}/sys"

# Fake credentials, generated here (deterministically): nothing
# credential-like is committed. One line per planted secret goes to
# planted.tsv (file, line, kind).
python3 - "$TREE" "$OUT/planted.tsv" <<'PY'
import base64, os, random, sys
tree, manifest = sys.argv[1:3]
rng = random.Random(20261123)
AN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
def r(n, cs=AN): return "".join(rng.choice(cs) for _ in range(n))
HEX, B64, U32 = "0123456789abcdef", AN + "+/", "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
pem = "\n".join(r(64, B64) for _ in range(25))
files = {
    "planted/app/.env": [
        ("DB_PASSWORD=" + r(20), "password"),
        ("AWS_ACCESS_KEY_ID=AKIA" + r(16, U32), "aws-key-id"),
        ("AWS_SECRET_ACCESS_KEY=" + r(40, B64), "aws-secret"),
        ("STRIPE_SECRET_KEY=sk_live_" + r(32), "stripe"),
        ("GITHUB_TOKEN=ghp_" + r(36), "github"),
    ],
    "planted/root/.ssh/id_rsa": [("-----BEGIN RSA PRIVATE KEY-----\n" + pem + "\n-----END RSA PRIVATE KEY-----", "private-key")],
    "planted/root/.docker/config.json": [('{"auths": {"registry.internal.net": {"auth": "%s"}}}'
                                          % base64.b64encode(("ci:" + r(24)).encode()).decode(), "docker-auth")],
    "planted/etc/redis/redis.conf": [("bind 127.0.0.1", None), ("requirepass " + r(24), "redis")],
    "planted/app/config/settings.yaml": [
        ("slack:", None), ("  bot_token: xoxb-%s-%s-%s" % (r(12, "0123456789"), r(12, "0123456789"), r(24)), "slack"),
        ("sendgrid:", None), ("  api_key: SG.%s.%s" % (r(22), r(43)), "sendgrid"),
        ("gitlab:", None), ("  token: glpat-" + r(20), "gitlab"),
        ("database:", None), ("  url: postgres://app:%s@db.internal:5432/app" % r(20), "db-url"),
    ],
    "planted/root/.git-credentials": [("https://deploy:%s@git.internal.net" % r(32), "git-credentials")],
    "planted/root/.npmrc": [("//registry.npmjs.org/:_authToken=npm_" + r(36), "npm")],
    "planted/srv/app/main.js": [
        ("const client = new OpenAI({ apiKey: 'sk-proj-%sT3BlbkFJ%s' });" % (r(74), r(74)), "openai"),
        ("const maps = 'AIza%s';" % r(35, AN + "_-"), "google-api-key"),
        ("const hook = 'https://hooks.slack.com/services/T%s/B%s/%s';" % (r(8, U32), r(8, U32), r(24)), "slack-webhook"),
    ],
    "planted/root/.kube/config": [("users:", None), ("- name: admin", None), ("  user:", None),
                                  ("    client-key-data: " + r(1200, B64), "kubeconfig")],
}
with open(manifest, "w") as m:
    for path, lines in files.items():
        full = os.path.join(tree, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        text, n = "", 1
        for line, kind in lines:
            if kind:
                m.write(f"/{path}\t{n}\t{kind}\n")
            text += line + "\n"
            n += line.count("\n") + 1
        with open(full, "w") as f:
            f.write(text)
PY
files=$(find "$TREE" -type f | wc -l)
bytes=$(du -sb "$TREE" | cut -f1)
planted=$(wc -l <"$OUT/planted.tsv")
say "tree: $files files, $((bytes / 1048576)) MiB, $planted planted secrets"

# --- runs --------------------------------------------------------------------
TSV=$OUT/runs.tsv
: >"$TSV"
run_tool() { # tool
	local tool=$1 i tf log out=$OUT/$1.json
	local -a cmd
	case $tool in
	picket) cmd=("$BIN/secretscan" -json "$TREE") ;;
	picket-gl) cmd=("$BIN/secretscan" -json -no-builtin -gitleaks-config "$GL_CONFIG" "$TREE") ;;
	gitleaks) cmd=("$BIN/gitleaks" dir --no-banner --log-level error --exit-code 0 --report-format json --report-path "$out" "$TREE") ;;
	gitleaks-nodecode) cmd=("$BIN/gitleaks" dir --no-banner --log-level error --exit-code 0 --max-decode-depth 0 --report-format json --report-path "$out" "$TREE") ;;
	esac
	for i in $(seq "$RUNS"); do
		tf=$OUT/$tool.time
		log=$OUT/$tool.log
		rm -f "$out"
		if [[ $tool == picket* ]]; then
			/usr/bin/time -f '%e %M' -o "$tf" "${cmd[@]}" >"$out" 2>"$log" || { say "$tool FAILED"; tail -n 20 "$log" >&2; return 1; }
		else
			/usr/bin/time -f '%e %M' -o "$tf" "${cmd[@]}" >"$log" 2>&1 || { say "$tool FAILED"; tail -n 20 "$log" >&2; return 1; }
		fi
		read -r secs kb < <(tail -n 1 "$tf")
		printf '%s\t%s\t%s\t%s\n' "$tool" "$i" "$secs" "$kb" >>"$TSV"
		say "$tool run $i: ${secs}s, $((kb / 1024)) MiB"
	done
}
for tool in $TOOLS; do
	run_tool "$tool"
done

# --- summary -----------------------------------------------------------------
stamp=$(date -u +%Y%m%dT%H%M%SZ)
summary=$RESULTS/secrets-vs-gitleaks-$stamp.json
echo
python3 - "$TSV" "$OUT" "$TREE" "$summary" "$stamp" "$RUNS" "$GITLEAKS_VERSION" "$TOOLS" "$ROOTFS" "$files" "$bytes" <<'PY'
import collections, csv, json, os, platform, sys
tsv, out, tree, summary, stamp, runs, glv, tools, rootfs, nfiles, nbytes = sys.argv[1:12]
tools = tools.split()
planted = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "planted.tsv"))]
planted_files = {p for p, _, _ in planted}
best = {}
for tool, i, secs, kb in csv.reader(open(tsv), delimiter="\t"):
    b = best.setdefault(tool, {"seconds": float(secs), "peak_rss_kib": int(kb), "runs": []})
    b["seconds"] = min(b["seconds"], float(secs))
    b["peak_rss_kib"] = min(b["peak_rss_kib"], int(kb))
    b["runs"].append({"seconds": float(secs), "peak_rss_kib": int(kb)})

def findings(tool):
    data = json.load(open(os.path.join(out, tool + ".json"))) or []
    res = []
    for f in data:
        if tool.startswith("picket"):
            if f.get("kind") != "secret":
                continue
            res.append((f["location"]["path"], f["location"].get("line", 0), f["ruleId"], f["severity"]))
        else:
            p = "/" + os.path.relpath(f["File"], tree)
            res.append((p, f["StartLine"], f["RuleID"], ""))
    return res

rows = []
hdr = f"{'tool':<18} {'seconds':>8} {'peak MiB':>8} {'findings':>8} {'planted':>8} {'files hit':>9} {'elsewhere':>9}"
print(f"best of {runs} runs; tree: {nfiles} files, {int(nbytes) / 1048576:.0f} MiB, {len(planted)} planted secrets in {len(planted_files)} files")
print(hdr)
print("-" * len(hdr))
for tool in tools:
    fs = findings(tool)
    inp = [f for f in fs if f[0].startswith("/planted/")]
    hit_lines = {(f[0], f[1]) for f in inp}
    found = sum(1 for p, l, _ in planted if (p, int(l)) in hit_lines)
    files_hit = len({f[0] for f in inp} & planted_files)
    other = [f for f in fs if not f[0].startswith("/planted/")]
    b = best[tool]
    b.update(findings=len(fs), planted_findings=len(inp), planted_found=found, planted_files_hit=files_hit,
             elsewhere=len(other), elsewhere_rules=dict(collections.Counter(f[2] for f in other)),
             missed=[f"{p}:{l} {k}" for p, l, k in planted if (p, int(l)) not in hit_lines])
    rows.append(tool)
    print(f"{tool:<18} {b['seconds']:>8.2f} {b['peak_rss_kib'] / 1024:>8.1f} {len(fs):>8} {found:>5}/{len(planted):<2} {files_hit:>6}/{len(planted_files):<2} {len(other):>9}")
print()
for tool in tools:
    b = best[tool]
    if b["missed"]:
        print(f"{tool} missed: {', '.join(b['missed'])}")
    if b["elsewhere_rules"]:
        print(f"{tool} outside planted/: {dict(sorted(b['elsewhere_rules'].items()))}")
ratios = {}
for p in ("picket", "picket-gl"):
    for g in ("gitleaks", "gitleaks-nodecode"):
        if p in best and g in best and best[g]["seconds"] > 0:
            r = best[p]["seconds"] / best[g]["seconds"]
            ratios[f"{p}/{g}"] = round(r, 4)
            print(f"time ratio {p}/{g}: {r:.3f} ({1 / r:.1f}x faster)" if r > 0 else f"time ratio {p}/{g}: {r}")
result = {
    "benchmark": "secrets-vs-gitleaks", "date": stamp,
    "host": {"cpus": os.cpu_count(), "kernel": platform.release()},
    "runs_per_tool": int(runs), "best_of": "minimum wall seconds and minimum peak RSS over the runs",
    "gitleaks_version": glv, "rootfs": rootfs, "tree_files": int(nfiles), "tree_bytes": int(nbytes),
    "planted": len(planted), "tools": {t: best[t] for t in tools}, "time_ratios": ratios,
}
with open(summary, "w") as f:
    json.dump(result, f, indent=2)
with open(os.path.join(os.path.dirname(summary), "secrets-vs-gitleaks-latest.json"), "w") as f:
    json.dump(result, f, indent=2)
print(f"\nsummary: {summary}")
PY
