#!/usr/bin/env bash
# Deep-scan cost: picket's full scan (packages + secrets + malware +
# misconfiguration) against its inventory-only scan of the same image, in
# the same run. The target is a deep scan costing at most 2x the inventory
# scan.
#
#   bench/deep-vs-inventory.sh             # from the repository root
#   RUNS=5 IMAGES="bookworm" bench/deep-vs-inventory.sh
#
# For each image it runs, RUNS times each, alternating (best kept: lowest
# wall time, CPU time and peak RSS over the runs),
#   picket scan image --no-cache --skip-vuln --scanners vuln        (inventory)
#   picket scan image --no-cache --skip-vuln                        (deep)
# under /usr/bin/time, both with --format json to a file, then prints a
# table: wall seconds, CPU seconds (user+system), peak RSS, findings, and the
# deep/inventory ratios; a JSON summary goes to bench/results/.
#
# Images (IMAGES, default "bookworm busybox alpine-3.10"): the
# internal/testimage images (built with `go run
# ./internal/testimage/cmd/mkimages` and `docker save`d) and
# ../shared/images/alpine-3.10-docker-save.tar.gz.
#
# Needs: go, docker, python3, /usr/bin/time. Work files go to .bench/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -f go.mod ] || [ ! -d bench ]; then echo "deep-vs-inventory: cannot find the repository root" >&2; exit 2; fi

RUNS=${RUNS:-3}
IMAGES=${IMAGES:-"bookworm busybox alpine-3.10"}
SHARED=${PICKET_SHARED:-../shared}
WORK=$PWD/.bench
BIN=$WORK/bin
OUT=$WORK/deep-vs-inventory
RESULTS=bench/results

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'deep-vs-inventory: %s\n' "$*" >&2; exit 1; }

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
command -v python3 >/dev/null || die "python3 is required"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"
[ -f /usr/include/yara.h ] && [ -f /usr/include/fuzzy.h ] || die "libyara-dev and libfuzzy-dev are missing (make deps installs them)"
mkdir -p "$BIN" "$OUT" "$RESULTS"

say "building picket (with libyara and libfuzzy)"
CGO_ENABLED=1 go build -o "$BIN/picket" ./cmd/picket

declare -A ARCHIVE
testimages=()
for img in $IMAGES; do
	case $img in
	bookworm | busybox) testimages+=("$img") ;;
	alpine-3.10)
		src=$SHARED/images/alpine-3.10-docker-save.tar.gz
		[ -f "$src" ] || die "$src is missing (set PICKET_SHARED to the shared/ directory)"
		ARCHIVE[$img]=$src
		;;
	*) die "unknown image '$img' in IMAGES (bookworm, busybox, alpine-3.10)" ;;
	esac
done
if [ ${#testimages[@]} -gt 0 ]; then
	say "building/reusing test images: ${testimages[*]}"
	lines=$(go run ./internal/testimage/cmd/mkimages -q -save "$WORK/images" "${testimages[@]}")
	i=0
	while IFS=$'\t' read -r _ _ archive; do
		ARCHIVE[${testimages[$i]}]=$archive
		i=$((i + 1))
	done <<<"$lines"
fi

TSV=$OUT/runs.tsv
: >"$TSV"
for img in $IMAGES; do
	# Runs alternate (inventory, deep, inventory, ...) so that both modes
	# see the same machine when its speed drifts.
	for r in $(seq "$RUNS"); do
		for mode in inventory deep; do
			args=(scan image --no-cache --skip-vuln --format json)
			[ "$mode" = inventory ] && args+=(--scanners vuln)
			out=$OUT/$img.$mode.json
			tf=$OUT/$img.$mode.time
			# The archive read back into the page cache first: the scans
			# are measured on the CPU, not on the disk (this machine's
			# memory management evicts idle page cache).
			cat "${ARCHIVE[$img]}" >/dev/null
			/usr/bin/time -f '%e %U %S %M' -o "$tf" "$BIN/picket" "${args[@]}" -o "$out" "docker-archive:${ARCHIVE[$img]}" 2>"$OUT/$img.$mode.log" ||
				die "picket failed on $img ($mode): $(tail -n 3 "$OUT/$img.$mode.log")"
			read -r wall user sys kb < <(tail -n 1 "$tf")
			findings=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1])).get("findings") or []))' "$out")
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$img" "$mode" "$r" "$wall" "$(python3 -c "print($user+$sys)")" "$kb" "$findings" >>"$TSV"
		done
	done
done

python3 - "$TSV" "$RESULTS/deep-vs-inventory.json" "$(nproc)" <<'EOF'
import json, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
best = {}
for img, mode, _, wall, cpu, kb, findings in rows:
    b = best.setdefault((img, mode), {"wall": 1e9, "cpu": 1e9, "rss_mib": 1e9, "findings": int(findings)})
    b["wall"] = min(b["wall"], float(wall))
    b["cpu"] = min(b["cpu"], float(cpu))
    b["rss_mib"] = min(b["rss_mib"], int(kb) / 1024)
images = list(dict.fromkeys(r[0] for r in rows))
print(f"deep scan vs inventory-only scan, best of runs, {sys.argv[3]} CPUs")
print(f"{'image':<12} {'inventory s/cpu/MiB':>22} {'deep s/cpu/MiB':>22} {'findings':>9} {'wall x':>7} {'cpu x':>7}")
summary = {}
for img in images:
    i, d = best[(img, "inventory")], best[(img, "deep")]
    wr, cr = d["wall"] / max(i["wall"], 1e-3), d["cpu"] / max(i["cpu"], 1e-3)
    print(f"{img:<12} {i['wall']:>8.2f} {i['cpu']:>6.2f} {i['rss_mib']:>6.1f} {d['wall']:>8.2f} {d['cpu']:>6.2f} {d['rss_mib']:>6.1f} {d['findings']:>9} {wr:>7.2f} {cr:>7.2f}")
    summary[img] = {"inventory": i, "deep": d, "wall_ratio": round(wr, 3), "cpu_ratio": round(cr, 3)}
json.dump(summary, open(sys.argv[2], "w"), indent=2)
EOF
