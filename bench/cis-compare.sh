#!/usr/bin/env bash
# CIS Docker Benchmark: `picket bench docker` against docker-bench-security
# on the same host, check by check.
#
#   bench/cis-compare.sh                           # from the repository root
#   DOCKER_BENCH=/opt/docker-bench-security bench/cis-compare.sh
#   DOCKER_BENCH_LOG=/tmp/dbs.log.json bench/cis-compare.sh   # compare with an existing docker-bench JSON log
#
# docker-bench-security is a shell script from GitHub
# (github.com/docker/docker-bench-security). This script never downloads it:
# it uses $DOCKER_BENCH (the script or its directory), else
# docker-bench-security.sh on PATH, else .bench/docker-bench-security/ or
# /opt/docker-bench-security/, else a JSON log given as $DOCKER_BENCH_LOG
# (docker-bench-security.sh -l FILE writes FILE.json). Without any of them it
# says so, runs picket alone and exits 0.
#
# With both, it prints for every check id the two results and whether they
# agree, the agreement per section and overall, and each tool's run time.
# Expected disagreements are explained in docs/bench.md ("Differences from
# docker-bench-security"). Writes .bench/cis-compare/{picket.json,
# docker-bench.log.json,compare.txt} and a JSON summary to bench/results/.
#
# Needs: go, python3; root (both tools read root-only files and the Docker
# socket).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -f go.mod ] || [ ! -d bench ]; then echo "cis-compare: cannot find the repository root" >&2; exit 2; fi

WORK=$PWD/.bench
OUT=$WORK/cis-compare
RESULTS=bench/results
mkdir -p "$OUT" "$WORK/bin" "$RESULTS"

say() { printf '== %s\n' "$*" >&2; }

say "building picket"
go build -o "$WORK/bin/picket" ./cmd/picket

now() { date +%s.%N; }

say "picket bench docker"
t0=$(now)
set +e
"$WORK/bin/picket" bench docker --format json -o "$OUT/picket.json"
rc=$?
set -e
t1=$(now)
if [ "$rc" -ne 0 ]; then echo "cis-compare: picket bench docker failed (exit $rc)" >&2; exit 1; fi
PICKET_SECONDS=$(python3 -c "print(round($t1 - $t0, 3))")

find_docker_bench() {
	local c
	for c in "${DOCKER_BENCH:-}" "$(command -v docker-bench-security.sh 2>/dev/null || true)" \
		"$WORK/docker-bench-security" /opt/docker-bench-security /usr/local/share/docker-bench-security; do
		[ -n "$c" ] || continue
		if [ -d "$c" ] && [ -f "$c/docker-bench-security.sh" ]; then echo "$c/docker-bench-security.sh"; return 0; fi
		if [ -f "$c" ]; then echo "$c"; return 0; fi
	done
	return 1
}

DBS_LOG=""
DBS_SECONDS=""
if [ -n "${DOCKER_BENCH_LOG:-}" ]; then
	[ -f "$DOCKER_BENCH_LOG" ] || { echo "cis-compare: DOCKER_BENCH_LOG=$DOCKER_BENCH_LOG: no such file" >&2; exit 2; }
	DBS_LOG=$DOCKER_BENCH_LOG
	say "using the docker-bench-security log $DBS_LOG"
elif DBS=$(find_docker_bench); then
	say "docker-bench-security: $DBS"
	rm -f "$OUT/docker-bench.log" "$OUT/docker-bench.log.json"
	t0=$(now)
	# It must run from its own directory (it sources functions/ and tests/).
	(cd "$(dirname "$DBS")" && sh "./$(basename "$DBS")" -b -l "$OUT/docker-bench.log" >"$OUT/docker-bench.out" 2>&1) ||
		{ echo "cis-compare: docker-bench-security failed; see $OUT/docker-bench.out" >&2; exit 1; }
	t1=$(now)
	DBS_SECONDS=$(python3 -c "print(round($t1 - $t0, 3))")
	DBS_LOG=$OUT/docker-bench.log.json
	[ -f "$DBS_LOG" ] || { echo "cis-compare: docker-bench-security wrote no $DBS_LOG" >&2; exit 1; }
else
	echo "cis-compare: docker-bench-security not found (set DOCKER_BENCH to its checkout, or DOCKER_BENCH_LOG to a JSON log of it);" >&2
	echo "cis-compare: it is not downloaded by this script. picket alone:" >&2
	python3 - "$OUT/picket.json" "$PICKET_SECONDS" <<'EOF'
import json, sys
rep = json.load(open(sys.argv[1]))
s = rep["summary"]
print(f"picket bench docker: {s['checks']} checks, {s['pass']} PASS, {s['warn']} WARN, {s['info']} INFO, "
      f"{s['note']} NOTE, {s['skip']} SKIP; score {s['score']} ({s['percent']}%) in {sys.argv[2]} s")
EOF
	exit 0
fi

python3 - "$OUT/picket.json" "$DBS_LOG" "$PICKET_SECONDS" "${DBS_SECONDS:-}" "$RESULTS/cis-compare.json" <<'EOF' | tee "$OUT/compare.txt"
import json, sys
from collections import defaultdict

picket_path, dbs_path, p_secs, d_secs, summary_path = sys.argv[1:6]
picket = {r["id"]: r for r in json.load(open(picket_path))["results"]}
dbs_doc = json.load(open(dbs_path))
dbs = {}
for section in dbs_doc.get("tests", []):
    for r in section.get("results", []):
        rid = str(r.get("id", ""))
        if rid and rid[0].isdigit():  # CIS ids only (not community "C.x")
            dbs[rid] = r

def key(i):
    return [int(p) if p.isdigit() else p for p in i.split(".")]

ids = sorted(set(picket) | set(dbs), key=key)
per = defaultdict(lambda: [0, 0, 0])  # agree, disagree, only one tool
rows = []
for i in ids:
    p = picket.get(i, {}).get("result", "-")
    d = str(dbs.get(i, {}).get("result", "-")).upper()
    sec = i.split(".")[0]
    if p == "-" or d == "-":
        per[sec][2] += 1
        verdict = "only " + ("picket" if d == "-" else "docker-bench")
    elif p == d:
        per[sec][0] += 1
        verdict = "agree"
    else:
        per[sec][1] += 1
        verdict = "DIFFER"
    rows.append((i, d, p, verdict, (picket.get(i, {}).get("title") or dbs.get(i, {}).get("desc", ""))[:70]))

print(f"{'id':<8} {'docker-bench':<13} {'picket':<7} {'':<18} title")
for r in rows:
    print(f"{r[0]:<8} {r[1]:<13} {r[2]:<7} {r[3]:<18} {r[4]}")
print()
ta = td = to = 0
for sec in sorted(per, key=int):
    a, d, o = per[sec]
    ta, td, to = ta + a, td + d, to + o
    both = a + d
    pct = f"{100 * a / both:.0f}%" if both else "-"
    print(f"section {sec}: {a} agree, {d} differ, {o} in one tool only; agreement {pct}")
both = ta + td
overall = 100 * ta / both if both else 0.0
print(f"overall: {ta} of {both} checks both tools ran agree ({overall:.1f}%); {to} checks in one tool only")
timing = f"picket {p_secs} s"
if d_secs:
    timing += f", docker-bench-security {d_secs} s, ratio picket/docker-bench {float(p_secs) / float(d_secs):.3f}"
print(timing)
print("Expected differences are explained in docs/bench.md (Differences from docker-bench-security).")
json.dump({"agree": ta, "differ": td, "oneToolOnly": to, "agreementPercent": round(overall, 1),
           "picketSeconds": float(p_secs), "dockerBenchSeconds": float(d_secs) if d_secs else None,
           "differences": [{"id": r[0], "dockerBench": r[1], "picket": r[2]} for r in rows if r[3] == "DIFFER"]},
          open(summary_path, "w"), indent=2)
EOF
