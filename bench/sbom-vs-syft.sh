#!/usr/bin/env bash
# SBOM benchmark: picket against syft on the same docker-archive tarballs.
#
#   bench/sbom-vs-syft.sh                  # from the repository root
#   RUNS=5 IMAGES="alpine-3.10" bench/sbom-vs-syft.sh
#   TOOLS=syft bench/sbom-vs-syft.sh       # measure syft alone
#
# For each image it runs, RUNS times each (best kept: lowest wall time and
# lowest peak RSS over the runs),
#   picket scan image --no-cache --format cyclonedx -o OUT docker-archive:PATH
#   syft scan docker-archive:PATH -o cyclonedx-json=OUT
# under /usr/bin/time, then prints the packages each found that the other did
# not, a table (packages, seconds, peak RSS, picket/syft ratios) and writes a
# JSON summary to bench/results/.
#
# Images (IMAGES, default "bookworm busybox alpine-3.10"):
#   bookworm     picket-test/bookworm-apps (internal/testimage: debootstrap'ed
#                Debian bookworm + python3-requests, node-lodash,
#                liblog4j2-java and a Go binary), built with
#                `go run ./internal/testimage/cmd/mkimages` and `docker save`d
#   busybox      picket-test/busybox (FROM scratch + Debian busybox-static)
#   alpine-3.10  ../shared/images/alpine-3.10-docker-save.tar.gz, gunzipped
#                (syft cannot read a gzipped docker-archive)
#
# Needs: go, docker, python3, /usr/bin/time (apt-get installs `time` when
# missing and running as root). Work files go to .bench/ (not in git).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -f go.mod ] || [ ! -d bench ]; then echo "sbom-vs-syft: cannot find the repository root" >&2; exit 2; fi

RUNS=${RUNS:-3}
TOOLS=${TOOLS:-"picket syft"}
IMAGES=${IMAGES:-"bookworm busybox alpine-3.10"}
SHARED=${PICKET_SHARED:-../shared}
SYFT_VERSION=v1.54.1
WORK=$PWD/.bench
BIN=$WORK/bin
OUT=$WORK/sbom-vs-syft
RESULTS=bench/results
export SYFT_CHECK_FOR_APP_UPDATE=false

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'sbom-vs-syft: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { python3 -c 'import sys,time; print(f"{time.time()-float(sys.argv[1]):.1f}")' "$1"; }
has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
for t in $TOOLS; do
	[[ "$t" == picket || "$t" == syft ]] || die "unknown tool '$t' in TOOLS (picket, syft)"
done
command -v python3 >/dev/null || die "python3 is required"
command -v go >/dev/null || die "go is required"
if [ ! -x /usr/bin/time ]; then
	[ "$(id -u)" = 0 ] || die "/usr/bin/time is missing (apt-get install time)"
	say "installing GNU time"
	DEBIAN_FRONTEND=noninteractive apt-get install -y time >/dev/null
fi
mkdir -p "$BIN" "$OUT" "$RESULTS"

# --- tools -------------------------------------------------------------------
syft_ok() { [ -x "$BIN/syft" ] && go version -m "$BIN/syft" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/anchore/syft[[:space:]]+$SYFT_VERSION([[:space:]]|$)"; }
SYFT_INSTALL_SECONDS=null
if has_tool syft && ! syft_ok; then
	say "installing syft $SYFT_VERSION with go install (takes minutes the first time)"
	t0=$(now)
	GOBIN=$BIN go install "github.com/anchore/syft/cmd/syft@$SYFT_VERSION"
	SYFT_INSTALL_SECONDS=$(since "$t0")
	say "syft installed in ${SYFT_INSTALL_SECONDS}s"
	syft_ok || die "$BIN/syft is not syft $SYFT_VERSION"
fi
if has_tool picket; then
	say "building picket"
	go build -o "$BIN/picket" ./cmd/picket ||
		die "picket does not build (is cmd/picket written yet?); TOOLS=syft measures syft alone"
fi

# --- images ------------------------------------------------------------------
declare -A ARCHIVE REF
testimages=()
for img in $IMAGES; do
	case $img in
	bookworm | busybox) testimages+=("$img") ;;
	alpine-3.10)
		src=$SHARED/images/alpine-3.10-docker-save.tar.gz
		[ -f "$src" ] || die "$src is missing (set PICKET_SHARED to the shared/ directory)"
		dst=$WORK/images/alpine-3.10.tar
		if [ ! -f "$dst" ] || [ "$src" -nt "$dst" ]; then
			mkdir -p "$WORK/images"
			gunzip -c "$src" >"$dst.partial" && mv "$dst.partial" "$dst"
		fi
		ARCHIVE[$img]=$dst
		REF[$img]="alpine:3.10 (shared/images)"
		;;
	*) die "unknown image '$img' in IMAGES (bookworm, busybox, alpine-3.10)" ;;
	esac
done
if [ ${#testimages[@]} -gt 0 ]; then
	say "building/reusing test images: ${testimages[*]}"
	t0=$(now)
	lines=$(go run ./internal/testimage/cmd/mkimages -q -save "$WORK/images" "${testimages[@]}")
	say "test images ready in $(since "$t0")s"
	i=0
	while IFS=$'\t' read -r ref id archive; do
		name=${testimages[$i]}
		ARCHIVE[$name]=$archive
		REF[$name]=$ref
		say "  $ref ($id) -> $archive"
		i=$((i + 1))
	done <<<"$lines"
fi

# --- runs --------------------------------------------------------------------
TSV=$OUT/runs.tsv
: >"$TSV"
failed=0
run_tool() { # tool image archive out
	local tool=$1 image=$2 archive=$3 out=$4 i tf log
	local -a cmd
	case $tool in
	picket) cmd=("$BIN/picket" scan image --no-cache --format cyclonedx -o "$out" "docker-archive:$archive") ;;
	syft) cmd=("$BIN/syft" scan "docker-archive:$archive" -o "cyclonedx-json=$out") ;;
	esac
	for i in $(seq "$RUNS"); do
		tf=$OUT/$image.$tool.time
		log=$OUT/$image.$tool.log
		rm -f "$out"
		if /usr/bin/time -f '%e %M' -o "$tf" "${cmd[@]}" >"$log" 2>&1 && [ -s "$out" ]; then
			read -r secs kb < <(tail -n 1 "$tf")
			printf '%s\t%s\t%s\t%s\t%s\tok\n' "$image" "$tool" "$i" "$secs" "$kb" >>"$TSV"
			say "$image $tool run $i: ${secs}s, $((kb / 1024)) MiB"
		else
			printf '%s\t%s\t%s\t\t\tfailed\n' "$image" "$tool" "$i" >>"$TSV"
			say "$image $tool run $i FAILED: ${cmd[*]}"
			tail -n 20 "$log" >&2 || true
			failed=1
			return 0
		fi
	done
}
for image in $IMAGES; do
	rm -f "$OUT/$image.diff.json"
	for tool in $TOOLS; do
		run_tool "$tool" "$image" "${ARCHIVE[$image]}" "$OUT/$image.$tool.cdx.json"
	done
	if has_tool picket && has_tool syft && [ -s "$OUT/$image.picket.cdx.json" ] && [ -s "$OUT/$image.syft.cdx.json" ]; then
		echo
		echo "$image: packages found by one tool only (name@version)"
		python3 bench/cdxcompare.py diff picket "$OUT/$image.picket.cdx.json" syft "$OUT/$image.syft.cdx.json" "$OUT/$image.diff.json"
	fi
done

# --- summary -----------------------------------------------------------------
stamp=$(date -u +%Y%m%dT%H%M%SZ)
summary=$RESULTS/sbom-vs-syft-$stamp.json
echo
python3 - "$TSV" "$OUT" "$summary" "$stamp" "$RUNS" "$SYFT_VERSION" "$SYFT_INSTALL_SECONDS" "$IMAGES" "$TOOLS" \
	"$(for i in $IMAGES; do printf '%s\t%s\t%s\n' "$i" "${REF[$i]}" "${ARCHIVE[$i]}"; done)" <<'PY'
import csv, json, os, platform, subprocess, sys
tsv, out, summary, stamp, runs, syft_version, syft_install, images, tools, refs = sys.argv[1:11]
images, tools = images.split(), tools.split()
meta = {}
for line in refs.splitlines():
    name, ref, archive = line.split("\t")
    meta[name] = {"ref": ref, "archive": archive, "archive_bytes": os.path.getsize(archive)}
rows = {}
with open(tsv) as f:
    for image, tool, i, secs, kb, status in csv.reader(f, delimiter="\t"):
        r = rows.setdefault((image, tool), {"runs": [], "status": "ok"})
        if status != "ok":
            r["status"] = "failed"
            continue
        r["runs"].append({"seconds": float(secs), "peak_rss_kib": int(kb)})

def count(path):
    sys.path.insert(0, "bench")
    import cdxcompare
    return len(cdxcompare.packages(path))

result = {
    "benchmark": "sbom-vs-syft",
    "date": stamp,
    "host": {"cpus": os.cpu_count(), "kernel": platform.release(),
             "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")},
    "runs_per_tool": int(runs),
    "best_of": "minimum wall seconds and minimum peak RSS over the runs",
    "syft_version": syft_version,
    "syft_install_seconds": None if syft_install == "null" else float(syft_install),
    "images": [],
}
print(f"best of {runs} runs (packages = CycloneDX components that are not files/OS)")
hdr = f"{'image':<14} {'tool':<7} {'packages':>8} {'seconds':>8} {'peak MiB':>8}"
print(hdr)
print("-" * len(hdr))
for image in images:
    entry = dict(meta[image], name=image, tools={})
    for tool in tools:
        r = rows.get((image, tool), {"runs": [], "status": "failed"})
        cdx = os.path.join(out, f"{image}.{tool}.cdx.json")
        if r["status"] == "ok" and r["runs"]:
            r["best_seconds"] = min(x["seconds"] for x in r["runs"])
            r["best_peak_rss_mib"] = round(min(x["peak_rss_kib"] for x in r["runs"]) / 1024, 1)
            r["packages"] = count(cdx)
            print(f"{image:<14} {tool:<7} {r['packages']:>8} {r['best_seconds']:>8.2f} {r['best_peak_rss_mib']:>8.1f}")
        else:
            print(f"{image:<14} {tool:<7} {'FAILED':>8}")
        entry["tools"][tool] = r
    p, s = entry["tools"].get("picket", {}), entry["tools"].get("syft", {})
    if "best_seconds" in p and "best_seconds" in s:
        entry["ratio_time_picket_over_syft"] = round(p["best_seconds"] / s["best_seconds"], 3)
        entry["ratio_memory_picket_over_syft"] = round(p["best_peak_rss_mib"] / s["best_peak_rss_mib"], 3)
        print(f"{'':<14} {'ratio picket/syft: time':<24} {entry['ratio_time_picket_over_syft']:.2f}  memory {entry['ratio_memory_picket_over_syft']:.2f}")
    diff = os.path.join(out, f"{image}.diff.json")
    if os.path.exists(diff) and "best_seconds" in p and "best_seconds" in s:
        entry["diff"] = json.load(open(diff))
    result["images"].append(entry)
with open(summary, "w") as f:
    json.dump(result, f, indent=2)
print(f"\nJSON summary: {summary}")
PY
cp "$summary" "$RESULTS/sbom-vs-syft-latest.json"
exit "$failed"
