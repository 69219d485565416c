#!/usr/bin/env bash
# Runtime sensor storm benchmark: how many events the sensor delivers under
# an exec storm and a connect storm, what it loses, what it costs.
#
#   sudo bench/agent-storm.sh                       # from the repository root
#   DURATION=10 REPS=3 sudo bench/agent-storm.sh
#   EXEC_RATE=20000 CONNECT_RATE=50000 WORKLOAD_EXECS=3000 WORKLOAD_CONNECTS=60000 ...
#
# Programs (built into .bench/agent-storm):
#   storm       bench/agent-storm/storm: `storm exec` fork+execs the static
#               /bin/busybox (`true MARKER`) at EXEC_RATE/s; `storm connect`
#               connects to a loopback listener at CONNECT_RATE/s (reset on
#               close, no TIME_WAIT); `storm workload` runs a fixed number of
#               both as fast as it can and reports its wall and CPU time
#               (self + children).
#   sensorstat  bench/agent-storm/sensorstat: sensor.Open (eBPF here) and a
#               consumer that counts the storm's events (execs whose argv is
#               ["true", MARKER]; connects/accepts to the storm's port), kernel
#               drops, user-space losses, latency from the kernel timestamp to
#               receipt, its own CPU and peak RSS; in the storms also each BPF
#               program's mean run time (kernel.bpf_stats_enabled, which
#               adds two clock reads per run, so it is off for the overhead
#               phases).
#
# Phases:
#   1. exec storm for DURATION s with the sensor running
#   2. connect storm for DURATION s with the sensor running
#   3. overhead: the fixed workload REPS times without and REPS times with
#      the sensor, alternating; medians compared. Then the same for
#      SYSLOOP_READS unwatched syscalls (pread of /dev/zero): the per-syscall
#      cost of the sys_enter/sys_exit hooks that every process pays.
# Needs root (BPF). Prints the figures and writes bench/results/agent-storm.json.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-30}
REPS=${REPS:-3}
EXEC_RATE=${EXEC_RATE:-20000}
CONNECT_RATE=${CONNECT_RATE:-50000}
WORKLOAD_EXECS=${WORKLOAD_EXECS:-3000}
WORKLOAD_CONNECTS=${WORKLOAD_CONNECTS:-60000}
SYSLOOP_READS=${SYSLOOP_READS:-2000000}
PORT=${PORT:-47311}
BIN=${BIN:-/bin/busybox}

if [ "$(id -u)" != 0 ]; then echo "agent-storm: needs root (BPF)" >&2; exit 2; fi
if [ ! -x "$BIN" ]; then
	echo "agent-storm: $BIN missing (apt-get install busybox-static, or BIN=/bin/true)" >&2
	exit 2
fi

OUT=.bench/agent-storm
mkdir -p "$OUT" bench/results
CGO_ENABLED=0 go build -o "$OUT/storm" ./bench/agent-storm/storm
go build -o "$OUT/sensorstat" ./bench/agent-storm/sensorstat

SS_PID=
cleanup() { [ -n "$SS_PID" ] && kill "$SS_PID" 2>/dev/null || true; }
trap cleanup EXIT

# start_sensor FILE MARKER [FLAGS]: runs sensorstat in the background until stop_sensor.
start_sensor() {
	"$OUT/sensorstat" -marker "$2" -port "$PORT" "${@:3}" >"$1" 2>"$1.err" &
	SS_PID=$!
	for _ in $(seq 100); do
		grep -q '^ready' "$1.err" 2>/dev/null && return 0
		kill -0 "$SS_PID" 2>/dev/null || { cat "$1.err" >&2; exit 1; }
		sleep 0.1
	done
	echo "agent-storm: sensor did not start" >&2
	exit 1
}
stop_sensor() {
	kill -TERM "$SS_PID"
	wait "$SS_PID" || true
	SS_PID=
}

marker=storm-$$-$RANDOM
echo "== exec storm: target ${EXEC_RATE}/s for ${DURATION}s"
start_sensor "$OUT/exec-sensor.json" "$marker" -prog-stats
"$OUT/storm" exec -rate "$EXEC_RATE" -duration "${DURATION}s" -marker "$marker" -bin "$BIN" >"$OUT/exec-storm.json"
sleep 1
stop_sensor

echo "== connect storm: target ${CONNECT_RATE}/s for ${DURATION}s"
start_sensor "$OUT/connect-sensor.json" "$marker-c" -prog-stats
"$OUT/storm" connect -rate "$CONNECT_RATE" -duration "${DURATION}s" -port "$PORT" >"$OUT/connect-storm.json"
sleep 1
stop_sensor

echo "== overhead: ${WORKLOAD_EXECS} execs + ${WORKLOAD_CONNECTS} connects, ${REPS}x without and with the sensor"
: >"$OUT/workload-off.jsonl"
: >"$OUT/workload-on.jsonl"
for i in $(seq "$REPS"); do
	"$OUT/storm" workload -execs "$WORKLOAD_EXECS" -connects "$WORKLOAD_CONNECTS" -port "$PORT" -bin "$BIN" >>"$OUT/workload-off.jsonl"
	start_sensor "$OUT/workload-sensor-$i.json" "wl-$i"
	"$OUT/storm" workload -execs "$WORKLOAD_EXECS" -connects "$WORKLOAD_CONNECTS" -port "$PORT" -bin "$BIN" >>"$OUT/workload-on.jsonl"
	stop_sensor
done

echo "== per-syscall cost: ${SYSLOOP_READS} unwatched syscalls, ${REPS}x without and with the sensor"
: >"$OUT/sysloop-off.jsonl"
: >"$OUT/sysloop-on.jsonl"
for i in $(seq "$REPS"); do
	"$OUT/storm" sysloop -reads "$SYSLOOP_READS" >>"$OUT/sysloop-off.jsonl"
	start_sensor "$OUT/sysloop-sensor-$i.json" "sl-$i"
	"$OUT/storm" sysloop -reads "$SYSLOOP_READS" >>"$OUT/sysloop-on.jsonl"
	stop_sensor
done

python3 - "$OUT" "$DURATION" <<'EOF'
import json, statistics, sys, os
out, duration = sys.argv[1], sys.argv[2]
ld = lambda n: json.load(open(os.path.join(out, n)))
lines = lambda n: [json.loads(l) for l in open(os.path.join(out, n)) if l.strip()]
es, ess = ld("exec-storm.json"), ld("exec-sensor.json")
cs, css = ld("connect-storm.json"), ld("connect-sensor.json")
off, on = lines("workload-off.jsonl"), lines("workload-on.jsonl")
import glob
wls = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(out, "workload-sensor-*.json")))]
med = lambda xs: statistics.median(xs)
off_cpu, on_cpu = med([r["cpu_s"] for r in off]), med([r["cpu_s"] for r in on])
off_wall, on_wall = med([r["seconds"] for r in off]), med([r["seconds"] for r in on])
sensor_cpu = med([w["cpu_percent"] / 100 * w["seconds"] for w in wls]) if wls else 0
res = {
  "exec": {"target_per_s": es["target_per_s"], "achieved_per_s": round(es["rate_per_s"]), "generated": es["generated"],
           "seen": ess["marked_execs"], "exits_seen": ess["marked_exits"], "kernel_drops": ess["kernel_drops"], "user_lost": ess["user_lost"],
           "sensor_cpu_percent": round(ess["cpu_percent"], 1), "sensor_peak_rss_mib": round(ess["peak_rss_mib"], 1),
           "latency_p50_ms": round(ess["latency_p50_ms"], 2), "latency_p99_ms": round(ess["latency_p99_ms"], 2)},
  "connect": {"target_per_s": cs["target_per_s"], "achieved_per_s": round(cs["rate_per_s"]), "generated": cs["generated"],
           "seen": css["port_connects"], "accepts_seen": css["port_accepts"], "kernel_drops": css["kernel_drops"], "user_lost": css["user_lost"],
           "sensor_cpu_percent": round(css["cpu_percent"], 1), "sensor_peak_rss_mib": round(css["peak_rss_mib"], 1),
           "latency_p50_ms": round(css["latency_p50_ms"], 2), "latency_p99_ms": round(css["latency_p99_ms"], 2)},
  "overhead": {"workload_cpu_s_without": round(off_cpu, 3), "workload_cpu_s_with": round(on_cpu, 3),
               "workload_wall_s_without": round(off_wall, 3), "workload_wall_s_with": round(on_wall, 3),
               "sensor_cpu_s": round(sensor_cpu, 3),
               "workload_cpu_overhead_percent": round(100 * (on_cpu - off_cpu) / off_cpu, 1),
               "total_cpu_overhead_percent": round(100 * (on_cpu + sensor_cpu - off_cpu) / off_cpu, 1),
               "wall_overhead_percent": round(100 * (on_wall - off_wall) / off_wall, 1)},
  "sysloop": {"ns_per_syscall_without": round(1e9 * med([r["cpu_s"] / r["generated"] for r in lines("sysloop-off.jsonl")]), 1),
              "ns_per_syscall_with": round(1e9 * med([r["cpu_s"] / r["generated"] for r in lines("sysloop-on.jsonl")]), 1)},
  "duration_s": int(duration), "cores": os.cpu_count(), "loadavg_at_end": os.getloadavg()[0],
}
for k in ("exec", "connect"):
  r = res[k]
  print(f"{k:8} target {r['target_per_s']:>7.0f}/s achieved {r['achieved_per_s']:>6}/s  generated {r['generated']:>8}  seen {r['seen']:>8}"
        f"  kernel drops {r['kernel_drops']}  user lost {r['user_lost']}  sensor CPU {r['sensor_cpu_percent']}%  RSS {r['sensor_peak_rss_mib']} MiB"
        f"  latency p50 {r['latency_p50_ms']} ms p99 {r['latency_p99_ms']} ms")
for k, f in (("exec", ess), ("connect", css)):
  progs = f.get("programs") or {}
  res[k]["bpf_ns_per_run"] = {n: round(v["ns_per_run"]) for n, v in progs.items()}
  if progs:
    print(f"{k:8} BPF programs: " + ", ".join(f"{n} {v['runs']} runs {v['ns_per_run']:.0f} ns" for n, v in sorted(progs.items())))
o = res["overhead"]
print(f"overhead workload CPU {o['workload_cpu_s_without']} s -> {o['workload_cpu_s_with']} s ({o['workload_cpu_overhead_percent']:+}%), "
      f"+ sensor {o['sensor_cpu_s']} s = {o['total_cpu_overhead_percent']:+}% total; wall {o['workload_wall_s_without']} s -> {o['workload_wall_s_with']} s ({o['wall_overhead_percent']:+}%)")
sl = res["sysloop"]
print(f"per-syscall CPU (unwatched pread): {sl['ns_per_syscall_without']} ns -> {sl['ns_per_syscall_with']} ns "
      f"({sl['ns_per_syscall_with'] - sl['ns_per_syscall_without']:+.1f} ns, {100 * (sl['ns_per_syscall_with'] / sl['ns_per_syscall_without'] - 1):+.1f}%)")
print(f"(2-core machine, load average {res['loadavg_at_end']:.1f} at the end)")
json.dump(res, open("bench/results/agent-storm.json", "w"), indent=2)
EOF
