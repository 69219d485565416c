#!/usr/bin/env bash
# Vulnerability benchmark: picket against osv-scanner v2, both offline, on the
# same OSV data (../shared/data/osv/Go and PyPI) and the same images.
#
#   bench/vulns-vs-osv-scanner.sh          # from the repository root
#   RUNS=5 IMAGES="py-site" bench/vulns-vs-osv-scanner.sh
#   TOOLS=osv-scanner bench/vulns-vs-osv-scanner.sh   # measure osv-scanner alone
#
# Databases (built from the same record directories every run):
#   osv-scanner  .bench/vulns-vs-osv-scanner/osvdb/osv-scalibr/<ecosystem>/all.zip
#                (osv-scanner v2.5 reads <local-db-path>/osv-scalibr/...; a
#                hard link at osv-scanner/<ecosystem>/all.zip is there for
#                releases that look under osv-scanner/ instead)
#   picket       picket db import --db-dir .bench/vulns-vs-osv-scanner/picketdb DIR...
#
# Images (IMAGES, default "go-apps py-site layered py-wide"), built with the Docker
# Engine FROM scratch (no pull needed) and `docker save`d to
# .bench/vulns-vs-osv-scanner/images/NAME.tar:
#   go-apps  /app/bin/* Go binaries (CGO_ENABLED=0 -trimpath), each from its own
#            temporary module pinning old module versions:
#              textsvc    golang.org/x/text v0.3.5, golang.org/x/net 2021-02
#              ginsvc     github.com/gin-gonic/gin v1.6.0 (and its deps)
#              legacysvc  jwt-go v3.2.0, yaml.v2 v2.2.2, yaml.v3 2020-03,
#                         gorilla/websocket v1.4.0, x/crypto 2020-06, built
#                         with LEGACY_GO (go1.22.0, fetched as a toolchain
#                         module) so the standard library is vulnerable too
#              storesvc   bbolt v1.3.5, lib/pq v1.10.0, gorilla/sessions
#                         v1.2.0: only withdrawn records name them
#              replacesvc x/text v0.3.5 replaced by v0.3.7 (build info "=>")
#   py-site  dist-info METADATA/RECORD/INSTALLER of old PyPI releases under
#            /usr/local/lib/python3.11/site-packages (requests 2.19.0, urllib3
#            1.24.1, Django 2.2, PyYAML 5.3, Jinja2 2.10, Pillow 6.2.0,
#            Flask-Cors 3.0.8, aiohttp 3.8.0, redis 4.5.0, ansible 2.9.0) and
#            a venv's Django 3.0rc1 under /opt/venv
#   layered  go-apps + py-site's files in a second layer + a third layer that
#            overwrites /app/bin/textsvc with a build on x/net v0.23.0 and
#            x/text v0.14.0 (only the final file counts)
#   py-wide  synthetic: for every PyPI package named in the data, up to three
#            versions the records themselves mention (lowest, middle and
#            highest in string order of the listed versions and ECOSYSTEM
#            range events), as METADATA-only dist-infos in /opt/venv{0,1,2}
# No file is owned by an OS package (Picket does not apply upstream advisories
# to dpkg-owned language packages), and there is no OS at all.
#
# For each image it runs, RUNS times each (best kept: lowest wall time and
# lowest peak RSS over the runs), under /usr/bin/time:
#   osv-scanner scan image --archive --offline --offline-vulnerabilities \
#       --local-db-path DB --format json --output-file OUT IMAGE.tar
#   picket scan image --no-cache --db-dir DB -f json -o OUT docker-archive:IMAGE.tar
# (osv-scanner exits 1 when it finds vulnerabilities: 0 and 1 are success),
# plus one untimed `osv-scanner ... --all-packages` run for its inventory.
# bench/vulncompare.py then compares the findings by package, version, path
# and the set of ids+aliases (so GO-/GHSA-/CVE-/PYSEC- naming and grouping are
# not differences), classifies every difference, and asks bench/cmd/osvverdict
# (the records' own ranges, evaluated with osv-scalibr's comparators) which
# side is right. A JSON summary goes to bench/results/.
#
# Knobs: RUNS (3), TOOLS ("picket osv-scanner"), IMAGES, PICKET_SHARED
# (../shared), OSV_SCANNER_VERSION (v2.5.0: v2.6.0 needs Go >= 1.27),
# LEGACY_GO (go1.22.0; empty: build legacysvc with the local Go).
# Needs: go, docker, python3, /usr/bin/time (apt-get installs `time` when
# missing and running as root). Work files go to .bench/ (not in git).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -f go.mod ] || [ ! -d bench ]; then echo "vulns-vs-osv-scanner: cannot find the repository root" >&2; exit 2; fi

RUNS=${RUNS:-3}
TOOLS=${TOOLS:-"picket osv-scanner"}
IMAGES=${IMAGES:-"go-apps py-site layered py-wide"}
SHARED=${PICKET_SHARED:-../shared}
OSV_SCANNER_VERSION=${OSV_SCANNER_VERSION:-v2.5.0}
LEGACY_GO=${LEGACY_GO-go1.22.0}
WORK=$PWD/.bench
BIN=$WORK/bin
OUT=$WORK/vulns-vs-osv-scanner
RESULTS=bench/results
DATA_GO=$SHARED/data/osv/Go
DATA_PYPI=$SHARED/data/osv/PyPI
OSVDB=$OUT/osvdb
PICKETDB=$OUT/picketdb

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'vulns-vs-osv-scanner: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { python3 -c 'import sys,time; print(f"{time.time()-float(sys.argv[1]):.2f}")' "$1"; }
has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
for t in $TOOLS; do
	[[ "$t" == picket || "$t" == osv-scanner ]] || die "unknown tool '$t' in TOOLS (picket, osv-scanner)"
done
for i in $IMAGES; do
	[[ "$i" == go-apps || "$i" == py-site || "$i" == layered || "$i" == py-wide ]] ||
		die "unknown image '$i' in IMAGES (go-apps, py-site, layered, py-wide)"
done
for c in python3 go docker; do command -v "$c" >/dev/null || die "$c is required"; done
{ [ -d "$DATA_GO" ] && [ -d "$DATA_PYPI" ]; } || die "$DATA_GO or $DATA_PYPI is missing (set PICKET_SHARED to the shared/ directory)"
if [ ! -x /usr/bin/time ]; then
	[ "$(id -u)" = 0 ] || die "/usr/bin/time is missing (apt-get install time)"
	say "installing GNU time"
	DEBIAN_FRONTEND=noninteractive apt-get install -y time >/dev/null
fi
mkdir -p "$BIN" "$OUT/images" "$OUT/runs" "$RESULTS"

# --- tools -------------------------------------------------------------------
osv_ok() { [ -x "$BIN/osv-scanner" ] && go version -m "$BIN/osv-scanner" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/google/osv-scanner/v2[[:space:]]+$OSV_SCANNER_VERSION([[:space:]]|$)"; }
OSV_INSTALL_SECONDS=null
if has_tool osv-scanner && ! osv_ok; then
	say "installing osv-scanner $OSV_SCANNER_VERSION with go install (takes minutes the first time)"
	t0=$(now)
	GOBIN=$BIN GOTOOLCHAIN=local go install "github.com/google/osv-scanner/v2/cmd/osv-scanner@$OSV_SCANNER_VERSION" ||
		die "go install of osv-scanner $OSV_SCANNER_VERSION failed (v2.6.0+ needs Go >= 1.27; try OSV_SCANNER_VERSION=v2.5.0)"
	OSV_INSTALL_SECONDS=$(since "$t0")
	say "osv-scanner installed in ${OSV_INSTALL_SECONDS}s"
	osv_ok || die "$BIN/osv-scanner is not osv-scanner $OSV_SCANNER_VERSION"
fi
if has_tool picket; then
	say "building picket"
	go build -o "$BIN/picket" ./cmd/picket || die "picket does not build; TOOLS=osv-scanner measures osv-scanner alone"
fi
go build -o "$BIN/osvverdict" ./bench/cmd/osvverdict || die "bench/cmd/osvverdict does not build"

# --- databases ---------------------------------------------------------------
# osv-scanner: one all.zip per ecosystem, the records at the zip's root.
t0=$(now)
for eco in Go PyPI; do
	src=$SHARED/data/osv/$eco
	dst=$OSVDB/osv-scalibr/$eco/all.zip
	mkdir -p "$(dirname "$dst")" "$OSVDB/osv-scanner/$eco"
	python3 - "$src" "$dst.partial" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1:]
with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
    for n in sorted(os.listdir(src)):
        if n.endswith(".json"):
            z.write(os.path.join(src, n), n)
PY
	mv "$dst.partial" "$dst"
	ln -f "$dst" "$OSVDB/osv-scanner/$eco/all.zip"
done
OSVDB_SECONDS=$(since "$t0")
say "osv-scanner offline DB: $OSVDB/osv-scalibr/{Go,PyPI}/all.zip (${OSVDB_SECONDS}s)"
PICKET_IMPORT_SECONDS=null
if has_tool picket; then
	rm -rf "$PICKETDB"
	t0=$(now)
	"$BIN/picket" db import --db-dir "$PICKETDB" "$DATA_GO" "$DATA_PYPI" >"$OUT/picket-db-import.log" 2>&1 ||
		{ cat "$OUT/picket-db-import.log" >&2; die "picket db import failed"; }
	PICKET_IMPORT_SECONDS=$(since "$t0")
	say "picket DB: $PICKETDB (${PICKET_IMPORT_SECONDS}s)"
	sed 's/^/   /' "$OUT/picket-db-import.log" >&2
fi

# --- image content -----------------------------------------------------------
SRC=$OUT/src
CTX=$OUT/ctx
rm -rf "$CTX"
mkdir -p "$SRC" "$CTX/go/app/bin" "$CTX/py" "$CTX/fix/app/bin" "$CTX/wide"
LEGACY_TOOLCHAIN=local

# gomod NAME REQUIREMENT... writes $SRC/NAME/go.mod and pins the requirements.
gomod() {
	local name=$1
	shift
	mkdir -p "$SRC/$name"
	printf 'module example.com/%s\n\ngo 1.22\n' "$name" >"$SRC/$name/go.mod"
	rm -f "$SRC/$name/go.sum"
	(cd "$SRC/$name" && GOFLAGS=-mod=mod GOTOOLCHAIN=local go get "$@" >"$SRC/$name.get.log" 2>&1) ||
		{ cat "$SRC/$name.get.log" >&2; die "go get $* failed (a version refused by the module proxy?)"; }
}
# gobuild NAME OUTPUT [TOOLCHAIN]
gobuild() {
	(cd "$SRC/$1" && CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=${3:-local} \
		go build -trimpath -o "$2" . >"$SRC/$1.build.log" 2>&1)
}

cat >"$SRC/textsvc.go" <<'EOF'
package main

import (
	"fmt"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/http2"
	"golang.org/x/text/language"
)

func main() {
	tag, err := language.Parse("en-US")
	fmt.Println(tag, err)
	doc, err := html.Parse(strings.NewReader("<p>hi</p>"))
	fmt.Println(doc != nil, err, http2.ClientPreface)
}
EOF
cat >"$SRC/ginsvc.go" <<'EOF'
package main

import "github.com/gin-gonic/gin"

func main() {
	r := gin.Default()
	r.GET("/ping", func(c *gin.Context) { c.JSON(200, gin.H{"message": "pong"}) })
	_ = r.Run(":8080")
}
EOF
cat >"$SRC/legacysvc.go" <<'EOF'
package main

import (
	"fmt"
	"net/http"

	"github.com/dgrijalva/jwt-go"
	"github.com/gorilla/websocket"
	"golang.org/x/crypto/ssh"
	yaml2 "gopkg.in/yaml.v2"
	"gopkg.in/yaml.v3"
)

func main() {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "x"})
	s, err := tok.SignedString([]byte("k"))
	fmt.Println(s, err)
	var v map[string]any
	fmt.Println(yaml.Unmarshal([]byte("a: 1"), &v), yaml2.Unmarshal([]byte("b: 2"), &v))
	up := websocket.Upgrader{}
	fmt.Println(up.ReadBufferSize, ssh.CertAlgoRSAv01)
	_ = http.ListenAndServe(":8081", nil)
}
EOF
cat >"$SRC/storesvc.go" <<'EOF'
package main

import (
	"fmt"

	"github.com/gorilla/sessions"
	"github.com/lib/pq"
	bolt "go.etcd.io/bbolt"
)

func main() {
	db, err := bolt.Open("/tmp/x.db", 0o600, nil)
	fmt.Println(db, err, pq.QuoteIdentifier("t"), sessions.NewCookieStore([]byte("k")) != nil)
}
EOF
cat >"$SRC/replacesvc.go" <<'EOF'
package main

import (
	"fmt"

	"golang.org/x/text/language"
)

func main() { fmt.Println(language.Make("de-CH")) }
EOF

say "building the Go binaries"
t0=$(now)
gomod textsvc golang.org/x/text@v0.3.5 golang.org/x/net@v0.0.0-20210226172049-e18ecbb05110
gomod ginsvc github.com/gin-gonic/gin@v1.6.0
gomod legacysvc github.com/dgrijalva/jwt-go@v3.2.0+incompatible gopkg.in/yaml.v2@v2.2.2 \
	gopkg.in/yaml.v3@v3.0.0-20200313102051-9f266ea9e77c github.com/gorilla/websocket@v1.4.0 \
	golang.org/x/crypto@v0.0.0-20200622213623-75b288015ac9
gomod storesvc go.etcd.io/bbolt@v1.3.5 github.com/lib/pq@v1.10.0 github.com/gorilla/sessions@v1.2.0
gomod replacesvc golang.org/x/text@v0.3.5
printf '\nreplace golang.org/x/text v0.3.5 => golang.org/x/text v0.3.7\n' >>"$SRC/replacesvc/go.mod"
gomod textsvc-fixed golang.org/x/net@v0.23.0 golang.org/x/text@v0.14.0
for app in textsvc ginsvc legacysvc storesvc replacesvc; do
	cp "$SRC/$app.go" "$SRC/$app/main.go"
done
cp "$SRC/textsvc.go" "$SRC/textsvc-fixed/main.go"
for app in textsvc ginsvc storesvc replacesvc; do
	gobuild "$app" "$CTX/go/app/bin/$app" || { cat "$SRC/$app.build.log" >&2; die "building $app failed"; }
done
if [ -n "$LEGACY_GO" ] && gobuild legacysvc "$CTX/go/app/bin/legacysvc" "$LEGACY_GO"; then
	LEGACY_TOOLCHAIN=$LEGACY_GO
else
	[ -z "$LEGACY_GO" ] || { tail -n 5 "$SRC/legacysvc.build.log" >&2; say "cannot build with $LEGACY_GO; using the local Go"; }
	gobuild legacysvc "$CTX/go/app/bin/legacysvc" || { cat "$SRC/legacysvc.build.log" >&2; die "building legacysvc failed"; }
fi
gobuild textsvc-fixed "$CTX/fix/app/bin/textsvc" || { cat "$SRC/textsvc-fixed.build.log" >&2; die "building textsvc-fixed failed"; }
say "Go binaries ready in $(since "$t0")s (legacysvc toolchain: $LEGACY_TOOLCHAIN)"
go version -m "$CTX/go/app/bin/replacesvc" | grep -q '=>' || die "replacesvc has no replaced module in its build info"

# Python: metadata only (what pip leaves in site-packages; no code needed).
distinfo() { # site-packages-dir Name Version
	local dir
	dir="$1/${2//-/_}-$3.dist-info"
	mkdir -p "$dir"
	printf 'Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: %s %s (benchmark fixture: metadata only)\n\n' "$2" "$3" "$2" "$3" >"$dir/METADATA"
	printf 'pip\n' >"$dir/INSTALLER"
	printf '%s/METADATA,,\n%s/INSTALLER,,\n%s/RECORD,,\n' "${dir##*/}" "${dir##*/}" "${dir##*/}" >"$dir/RECORD"
}
site=$CTX/py/usr/local/lib/python3.11/site-packages
while read -r name version; do distinfo "$site" "$name" "$version"; done <<'EOF'
requests 2.19.0
urllib3 1.24.1
Django 2.2
PyYAML 5.3
Jinja2 2.10
Pillow 6.2.0
Flask-Cors 3.0.8
aiohttp 3.8.0
redis 4.5.0
ansible 2.9.0
EOF
distinfo "$CTX/py/opt/venv/lib/python3.11/site-packages" Django 3.0rc1
WIDE_PACKAGES=$(python3 - "$DATA_PYPI" "$CTX/wide" <<'PY'
import glob, json, os, re, sys
data, root = sys.argv[1:]
version = re.compile(r"^[0-9][0-9A-Za-z.!+_-]*$")  # skips junk such as "<class ...>" in a few records
names, versions = {}, {}
for f in sorted(glob.glob(os.path.join(data, "*.json"))):
    for a in json.load(open(f)).get("affected") or []:
        name = a["package"]["name"]
        key = re.sub(r"[-_.]+", "-", name).lower()
        names.setdefault(key, name)
        vs = versions.setdefault(key, set())
        vs.update(a.get("versions") or [])
        for r in a.get("ranges") or []:
            if r.get("type") == "ECOSYSTEM":
                vs.update(v for e in r.get("events") or [] for v in e.values())
n = 0
for key in sorted(versions):
    vs = sorted(v for v in versions[key] if v != "0" and version.match(v))
    if not vs:
        continue
    for i, v in enumerate(sorted({vs[0], vs[len(vs) // 2], vs[-1]})):
        d = os.path.join(root, f"opt/venv{i}/lib/python3.11/site-packages", f"{names[key].replace('-', '_')}-{v}.dist-info")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "METADATA"), "w") as m:
            m.write(f"Metadata-Version: 2.1\nName: {names[key]}\nVersion: {v}\n\n")
        n += 1
print(n)
PY
)
say "py-wide: $WIDE_PACKAGES dist-infos"

# --- images ------------------------------------------------------------------
declare -A ARCHIVE TAG
build_image() { # name dockerfile-body
	local name=$1 tag=picket-bench/vulns-$1:1
	printf '%s\n' "$2" >"$CTX/Dockerfile.$name"
	DOCKER_BUILDKIT=0 docker build -q -t "$tag" -f "$CTX/Dockerfile.$name" "$CTX" >/dev/null 2>"$OUT/$name.build.log" ||
		{ cat "$OUT/$name.build.log" >&2; die "docker build of $tag failed"; }
	docker save -o "$OUT/images/$name.tar" "$tag"
	ARCHIVE[$name]=$OUT/images/$name.tar
	TAG[$name]=$tag
	say "  $tag -> ${ARCHIVE[$name]} ($(du -h "${ARCHIVE[$name]}" | cut -f1))"
}
say "building the images"
build_image go-apps $'FROM scratch\nCOPY go/ /'
build_image py-site $'FROM scratch\nCOPY py/ /'
if [[ " $IMAGES " == *" layered "* ]]; then
	build_image layered $'FROM picket-bench/vulns-go-apps:1\nCOPY py/ /\nCOPY fix/ /'
fi
if [[ " $IMAGES " == *" py-wide "* ]]; then
	build_image py-wide $'FROM scratch\nCOPY wide/ /'
fi

# --- runs --------------------------------------------------------------------
TSV=$OUT/runs.tsv
: >"$TSV"
failed=0
run_tool() { # tool image archive out
	local tool=$1 image=$2 archive=$3 out=$4 i tf log rc
	local -a cmd
	case $tool in
	picket) cmd=("$BIN/picket" scan image --no-cache --db-dir "$PICKETDB" -f json -o "$out" "docker-archive:$archive") ;;
	osv-scanner) cmd=("$BIN/osv-scanner" scan image --archive --offline --offline-vulnerabilities
		--local-db-path "$OSVDB" --format json --output-file "$out" "$archive") ;;
	esac
	for i in $(seq "$RUNS"); do
		tf=$OUT/runs/$image.$tool.time
		log=$OUT/runs/$image.$tool.log
		rm -f "$out"
		rc=0
		/usr/bin/time -f '%e %M' -o "$tf" "${cmd[@]}" >"$log" 2>&1 || rc=$?
		# osv-scanner: 0 no vulnerabilities, 1 vulnerabilities found.
		if { [ "$rc" = 0 ] || { [ "$tool" = osv-scanner ] && [ "$rc" = 1 ]; }; } && [ -s "$out" ]; then
			read -r secs kb < <(tail -n 1 "$tf")
			printf '%s\t%s\t%s\t%s\t%s\tok\n' "$image" "$tool" "$i" "$secs" "$kb" >>"$TSV"
			say "$image $tool run $i: ${secs}s, $((kb / 1024)) MiB (exit $rc)"
		else
			printf '%s\t%s\t%s\t\t\tfailed\n' "$image" "$tool" "$i" >>"$TSV"
			say "$image $tool run $i FAILED (exit $rc): ${cmd[*]}"
			tail -n 20 "$log" >&2 || true
			failed=1
			return 0
		fi
	done
	if [ "$tool" = osv-scanner ]; then
		# It must have read our zips, not anything else.
		if grep -Eqi 'could not load db|unable to fetch' "$log" || ! grep -q "local db from $OSVDB/" "$log"; then
			say "$image: osv-scanner did not load the offline databases from $OSVDB:"
			sed 's/^/   /' "$log" >&2
			failed=1
		fi
	fi
}
for image in $IMAGES; do
	rm -f "$OUT/runs/$image.diff.json"
	for tool in $TOOLS; do
		run_tool "$tool" "$image" "${ARCHIVE[$image]}" "$OUT/runs/$image.$tool.json"
	done
	if has_tool osv-scanner; then
		"$BIN/osv-scanner" scan image --archive --offline --offline-vulnerabilities --local-db-path "$OSVDB" \
			--all-packages --format json --output-file "$OUT/runs/$image.osv-scanner.inventory.json" \
			"${ARCHIVE[$image]}" >"$OUT/runs/$image.osv-scanner.inventory.log" 2>&1 || true
	fi
	if has_tool picket && has_tool osv-scanner && [ -s "$OUT/runs/$image.picket.json" ] && [ -s "$OUT/runs/$image.osv-scanner.json" ]; then
		echo
		python3 bench/vulncompare.py diff --image "$image" \
			--osv "$OUT/runs/$image.osv-scanner.json" --osv-inventory "$OUT/runs/$image.osv-scanner.inventory.json" \
			--picket "$OUT/runs/$image.picket.json" --out "$OUT/runs/$image.diff.json" \
			--verdict "$BIN/osvverdict" --data "$DATA_GO" --data "$DATA_PYPI"
	fi
done

# --- summary -----------------------------------------------------------------
stamp=$(date -u +%Y%m%dT%H%M%SZ)
summary=$RESULTS/vulns-vs-osv-scanner-$stamp.json
echo
python3 - "$TSV" "$OUT/runs" "$summary" "$stamp" "$RUNS" "$OSV_SCANNER_VERSION" "$OSV_INSTALL_SECONDS" \
	"$IMAGES" "$TOOLS" "$OSVDB_SECONDS" "$PICKET_IMPORT_SECONDS" "$LEGACY_TOOLCHAIN" "$(go env GOVERSION)" \
	"$(for i in $IMAGES; do printf '%s\t%s\t%s\n' "$i" "${TAG[$i]}" "${ARCHIVE[$i]}"; done)" <<'PY'
import csv, json, os, platform, sys
(tsv, runs_dir, summary, stamp, runs, osv_version, osv_install, images, tools, osvdb_s, import_s,
 legacy, gover, refs) = sys.argv[1:15]
images, tools = images.split(), tools.split()
num = lambda s: None if s == "null" else float(s)
meta = {}
for line in refs.splitlines():
    name, tag, archive = line.split("\t")
    meta[name] = {"tag": tag, "archive": archive, "archive_bytes": os.path.getsize(archive)}
rows = {}
with open(tsv) as f:
    for image, tool, i, secs, kb, status in csv.reader(f, delimiter="\t"):
        r = rows.setdefault((image, tool), {"runs": [], "status": "ok"})
        if status != "ok":
            r["status"] = "failed"
            continue
        r["runs"].append({"seconds": float(secs), "peak_rss_kib": int(kb)})
result = {
    "benchmark": "vulns-vs-osv-scanner", "date": stamp,
    "host": {"cpus": os.cpu_count(), "kernel": platform.release(),
             "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")},
    "runs_per_tool": int(runs), "best_of": "minimum wall seconds and minimum peak RSS over the runs",
    "osv_scanner_version": osv_version, "osv_scanner_install_seconds": num(osv_install),
    "go": gover, "legacysvc_toolchain": legacy,
    "setup": {"osv_scanner_zip_seconds": num(osvdb_s), "picket_db_import_seconds": num(import_s)},
    "data": ["shared/data/osv/Go", "shared/data/osv/PyPI"], "images": [],
}
print(f"best of {runs} runs; findings = (package, version, path, vulnerability); osv-scanner {osv_version}")
hdr = f"{'image':<9} {'tool':<12} {'findings':>8} {'only':>5} {'seconds':>8} {'peak MiB':>8}"
print(hdr)
print("-" * len(hdr))
tot = {t: 0.0 for t in tools}
complete = True
for image in images:
    entry = dict(meta[image], name=image, tools={})
    dpath = os.path.join(runs_dir, f"{image}.diff.json")
    diff = json.load(open(dpath)) if os.path.exists(dpath) else None
    for tool in tools:
        r = rows.get((image, tool), {"runs": [], "status": "failed"})
        if r["status"] == "ok" and r["runs"]:
            r["best_seconds"] = min(x["seconds"] for x in r["runs"])
            r["best_peak_rss_mib"] = round(min(x["peak_rss_kib"] for x in r["runs"]) / 1024, 1)
            tot[tool] += r["best_seconds"]
            if diff:
                r.update(diff["counts"][tool])
            else:  # one tool only: count its own findings
                doc = json.load(open(os.path.join(runs_dir, f"{image}.{tool}.json")))
                r["findings"] = (sum(1 for f in doc.get("findings") or [] if f.get("kind") == "vulnerability")
                                 if tool == "picket" else
                                 sum(len(p.get("groups") or []) for x in doc.get("results") or []
                                     for p in x.get("packages") or []))
            n = r.get("findings", "")
            only = r.get("only_this_tool", "")
            print(f"{image:<9} {tool:<12} {n:>8} {only:>5} {r['best_seconds']:>8.2f} {r['best_peak_rss_mib']:>8.1f}")
        else:
            complete = False
            print(f"{image:<9} {tool:<12} {'FAILED':>8}")
        entry["tools"][tool] = r
    p, o = entry["tools"].get("picket", {}), entry["tools"].get("osv-scanner", {})
    if "best_seconds" in p and "best_seconds" in o:
        entry["ratio_time_picket_over_osv_scanner"] = round(p["best_seconds"] / o["best_seconds"], 3)
        entry["ratio_memory_picket_over_osv_scanner"] = round(p["best_peak_rss_mib"] / o["best_peak_rss_mib"], 3)
        print(f"{'':<9} ratio picket/osv-scanner: time {entry['ratio_time_picket_over_osv_scanner']:.2f}, "
              f"memory {entry['ratio_memory_picket_over_osv_scanner']:.2f}")
    if diff:
        entry["comparison"] = diff
    result["images"].append(entry)
if complete and "picket" in tools and "osv-scanner" in tools and tot["osv-scanner"] > 0:
    result["total_seconds"] = {t: round(s, 3) for t, s in tot.items()}
    result["ratio_time_picket_over_osv_scanner"] = round(tot["picket"] / tot["osv-scanner"], 3)
    diffs = [e["comparison"] for e in result["images"] if "comparison" in e]
    result["findings"] = {t: sum(d["counts"][t]["findings"] for d in diffs) for t in tools}
    result["only"] = {t: sum(d["counts"][t]["only_this_tool"] for d in diffs) for t in tools}
    refs = [d["reference"] for d in diffs if "reference" in d]
    result["vs_reference"] = {t: {k: sum(len(r["tools"][t][k]) for r in refs) for k in ("missing", "extra")}
                              for t in tools} if len(refs) == len(diffs) else None
    by_cat = {}
    for d in diffs:
        for x in d["differences"]:
            key = f"only {x['only']} [{x['category']}]"
            by_cat[key] = by_cat.get(key, 0) + 1
    result["differences_by_category"] = by_cat
    ok = result["only"]["osv-scanner"] == 0 and result["ratio_time_picket_over_osv_scanner"] <= 0.5
    if result["vs_reference"] is not None:
        ok = ok and result["vs_reference"]["picket"]["extra"] == 0
    verdict = "met" if ok else "NOT met"
    result["target"] = {"text": "same or better findings than osv-scanner (nothing it finds missing, nothing the "
                                "records do not support) in at most half its time", "status": verdict}
    print(f"\nall images: findings picket {result['findings']['picket']} / osv-scanner {result['findings']['osv-scanner']}"
          f" (only picket {result['only']['picket']}, only osv-scanner {result['only']['osv-scanner']});"
          f" time {tot['picket']:.2f}s / {tot['osv-scanner']:.2f}s = ratio {result['ratio_time_picket_over_osv_scanner']:.2f}")
    for k, n in sorted(by_cat.items()):
        print(f"  {n:>5} {k}")
    if result["vs_reference"] is not None:
        print("against the records' own ranges (osvverdict): " + "; ".join(
            f"{t} missing {r['missing']}, extra {r['extra']}" for t, r in result["vs_reference"].items()))
    print(f"target (same or better findings, <= 0.5 time): {verdict}")
print(f"setup: osv-scanner zips {osvdb_s}s"
      + (f", picket db import {import_s}s" if import_s != "null" else "")
      + (f", osv-scanner {osv_version} go install {osv_install}s" if osv_install != "null" else ""))
with open(summary, "w") as f:
    json.dump(result, f, indent=2)
print(f"JSON summary: {summary}")
PY
cp "$summary" "$RESULTS/vulns-vs-osv-scanner-latest.json"
exit "$failed"
