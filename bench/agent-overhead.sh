#!/usr/bin/env bash
# Runtime agent overhead on an ordinary fixed workload: the CPU a workload
# costs with the whole `picket agent` running (eBPF sensors, attribution,
# rules, outputs) against without it, in the same run. bench/agent-storm.sh
# measures the worst case (a workload made only of watched syscalls); this
# one measures what a busy build host pays.
#
#   sudo bench/agent-overhead.sh              # from the repository root
#   REPS=5 PKG=./internal/scan sudo bench/agent-overhead.sh
#
# Workload: `go build -a PKG` with an empty GOCACHE (REPS times without and
# REPS times with the agent, alternating): the go command, the compiler and
# the linker run as hundreds of processes opening thousands of files, a mix
# of CPU and system calls. Workload CPU is user+system of the build and its
# children (GNU time); the agent's CPU is read from /proc/PID/stat over each
# run. Overhead = (build CPU with - build CPU without + agent CPU) / build
# CPU without, medians over the runs. Target: < 5%.
#
# Needs root (BPF), go, /usr/bin/time. Work files go to .bench/agent-overhead.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

REPS=${REPS:-3}
PKG=${PKG:-./internal/policy}
OUT=.bench/agent-overhead
if [ "$(id -u)" != 0 ]; then echo "agent-overhead: needs root (BPF)" >&2; exit 2; fi
[ -x /usr/bin/time ] || { echo "agent-overhead: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || { echo "agent-overhead: REPS must be a positive integer" >&2; exit 2; }
mkdir -p "$OUT" bench/results
CGO_ENABLED=1 go build -o "$OUT/picket" ./cmd/picket
go mod download

AGENT_PID=
cleanup() { [ -n "$AGENT_PID" ] && kill "$AGENT_PID" 2>/dev/null || true; }
trap cleanup EXIT

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# build FILE: one cold build of PKG, "wall cpu" appended to FILE.
build() {
	local cache
	cache=$(mktemp -d)
	GOCACHE=$cache GOFLAGS=-mod=mod /usr/bin/time -f '%e %U %S' -o "$OUT/time" go build -a -o /dev/null "$PKG"
	rm -rf "$cache"
	read -r wall user sys <"$OUT/time"
	echo "$wall $(python3 -c "print($user + $sys)")" >>"$1"
}

: >"$OUT/off"
: >"$OUT/on"
: >"$OUT/agent"
for i in $(seq "$REPS"); do
	echo "== run $i/$REPS: go build -a $PKG without the agent" >&2
	build "$OUT/off"
	"$OUT/picket" agent -o "file:$OUT/alerts.jsonl" --metrics-listen 127.0.0.1:0 2>"$OUT/agent.log" &
	AGENT_PID=$!
	for _ in $(seq 100); do
		grep -q "sensors" "$OUT/agent.log" 2>/dev/null && break
		kill -0 "$AGENT_PID" 2>/dev/null || { cat "$OUT/agent.log" >&2; exit 1; }
		sleep 0.1
	done
	sleep 1
	echo "== run $i/$REPS: go build -a $PKG with the agent" >&2
	t0=$(ticks "$AGENT_PID")
	build "$OUT/on"
	t1=$(ticks "$AGENT_PID")
	echo "$(((t1 - t0)))" >>"$OUT/agent"
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID" || true
	AGENT_PID=
done

python3 - "$OUT" "$PKG" "$(getconf CLK_TCK)" <<'EOF'
import json, statistics, sys
out, pkg, hz = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = lambda n: [tuple(map(float, l.split())) for l in open(f"{out}/{n}") if l.strip()]
off, on = rows("off"), rows("on")
agent = [float(l) / hz for l in open(f"{out}/agent") if l.strip()]
m = statistics.median
off_cpu, on_cpu, ag = m(c for _, c in off), m(c for _, c in on), m(agent)
off_wall, on_wall = m(w for w, _ in off), m(w for w, _ in on)
res = {
    "workload": f"go build -a {pkg} (cold GOCACHE)", "runs": len(off),
    "build_cpu_s_without": round(off_cpu, 2), "build_cpu_s_with": round(on_cpu, 2),
    "agent_cpu_s": round(ag, 2), "build_wall_s_without": round(off_wall, 2), "build_wall_s_with": round(on_wall, 2),
    "build_cpu_overhead_percent": round(100 * (on_cpu - off_cpu) / off_cpu, 1),
    "total_cpu_overhead_percent": round(100 * (on_cpu - off_cpu + ag) / off_cpu, 1),
    "wall_overhead_percent": round(100 * (on_wall - off_wall) / off_wall, 1),
}
json.dump(res, open("bench/results/agent-overhead.json", "w"), indent=2)
print(f"workload: {res['workload']}, median of {res['runs']} runs each")
print(f"  build CPU {res['build_cpu_s_without']} s -> {res['build_cpu_s_with']} s ({res['build_cpu_overhead_percent']:+}%), "
      f"agent {res['agent_cpu_s']} s: total {res['total_cpu_overhead_percent']:+}% (target < 5%)")
print(f"  build wall {res['build_wall_s_without']} s -> {res['build_wall_s_with']} s ({res['wall_overhead_percent']:+}%)")
EOF
