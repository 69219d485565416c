#!/usr/bin/env python3
"""Compare Picket's and osv-scanner's vulnerability findings on one image.

    vulncompare.py diff --image NAME --osv OSV.json --osv-inventory OSV-ALL.json \
        --picket PICKET.json --out DIFF.json [--verdict BIN --data DIR ...]

OSV.json is `osv-scanner scan image --format json` output, OSV-ALL.json the
same with --all-packages (osv-scanner's inventory, used to explain
differences), PICKET.json is `picket scan image -f json` output.

A finding is (ecosystem, package, version, path, vulnerability). Names are
compared normalised (PyPI: PEP 503), versions without Go's "v"/"go"
prefixes. A vulnerability is the set of its ids and aliases: osv-scanner's
group (ids + aliases), Picket's attributes.ids plus ruleId. Findings of the
two tools on the same package, version and path are linked when their id
sets intersect; each connected group of linked findings is one matched
vulnerability, so GO-/GHSA-/CVE-/PYSEC- naming and alias grouping do not
count as differences. What is left on one side only is classified:

  version    the other tool reports the vulnerability on another version
  location   the other tool reports it on another path
  inventory  the other tool did not detect the package (or read another version)
  withdrawn  the record is withdrawn
  missed     the record affects the version by its own ranges (osvverdict)
             and the other tool did not report it: a matching bug there
  spurious   the record does not affect the version by its ranges: a
             matching bug in the tool that reported it
  unknown    no verdict could be made (ids not in the data, no --verdict)

`missed` findings that osv-scanner lacks are refined when the record shows a
known osv-scanner v2 offline-matching limitation: `osv-scanner-git-range`
(the record's first range is GIT, so only its `versions` list is used) and
`osv-scanner-name` (the record spells the PyPI name unnormalised).

`grouping` (informational) counts matched vulnerabilities that one tool
reports as several findings and the other as fewer.

With --verdict, every package version either tool detected is also checked
against a reference: all non-withdrawn records naming the package whose own
ranges/versions contain the version (osvverdict). Each tool's findings are
compared with it ("missing": a reference record no finding carries,
"extra": a finding no reference record explains), so a mistake both tools
make shows up too.
"""
import argparse
import json
import re
import subprocess
import sys
from collections import defaultdict

TOOLS = ("osv-scanner", "picket")

EXPLAIN = {
    "grouping": "osv-scanner groups records sharing an alias into one group and Picket merges records by alias into one "
                "finding; where they group differently the same records count as a different number of findings",
    "version": "both tools report the vulnerability but read a different version for the package (e.g. the Go "
               "standard library version from the binary's build info, or a Go pseudo-version)",
    "location": "both tools report the vulnerability for the same package version but at a different path",
    "inventory": "the other tool did not detect this package (or read another version of it): a package detection "
                 "difference, not a matching one",
    "withdrawn": "the OSV record is withdrawn; osv-scanner skips withdrawn records",
    "missed": "the record's own ranges/versions say this version is affected (osvverdict, osv-scalibr comparators) "
              "but the other tool did not report it: a matching bug in the other tool",
    "spurious": "the record's own ranges/versions say this version is NOT affected (osvverdict) but this tool "
                "reported it: a matching bug in this tool",
    "osv-scanner-git-range": "the record's affected entry starts with a GIT range; osv-scanner v2's offline matcher "
                             "(osv-scalibr enricher/vulnmatch/osvlocal, rangeAffectsVersion) stops at the first range "
                             "that is not ECOSYSTEM/SEMVER, so only the record's enumerated `versions` list counts, and "
                             "this version is inside the ECOSYSTEM range but not in that list (Picket is right)",
    "osv-scanner-name": "the record spells the PyPI name unnormalised (e.g. jw.util); osv-scanner compares it verbatim "
                        "with the PEP 503-normalised installed name (jw-util), Picket normalises both (Picket is right)",
    "uncalled": "osv-scanner marks the vulnerability as not called (call analysis)",
    "unknown": "no verdict: the ids are not in the shared OSV data or osvverdict was not run",
}

_sep = re.compile(r"[-_.]+")


def norm_name(eco, name):
    if eco == "PyPI":
        return _sep.sub("-", name).lower()
    return name


def norm_version(eco, name, version):
    v = version or ""
    if eco == "Go":
        if name == "stdlib" and v.startswith("go"):
            v = v[2:]
        if v.startswith("v"):
            v = v[1:]
    return v


def norm_path(p):
    p = p or ""
    return "/" + p.lstrip("/") if p else ""


def osv_findings(doc):
    out = []
    for res in doc.get("results") or []:
        path = norm_path((res.get("source") or {}).get("path"))
        for pk in res.get("packages") or []:
            p = pk.get("package") or {}
            eco = p.get("ecosystem", "")
            name = norm_name(eco, p.get("name", ""))
            ver = norm_version(eco, name, p.get("version", ""))
            vulns = {v["id"]: v for v in pk.get("vulnerabilities") or []}
            for g in pk.get("groups") or []:
                ids = set(g.get("ids") or []) | set(g.get("aliases") or [])
                for i in g.get("ids") or []:
                    ids |= set((vulns.get(i) or {}).get("aliases") or [])
                called = None
                ea = g.get("experimental_analysis") or g.get("experimentalAnalysis") or {}
                if ea:
                    called = all((a or {}).get("called", True) for a in ea.values())
                out.append({"tool": "osv-scanner", "ecosystem": eco, "package": name, "version": ver, "path": path,
                            "id": ",".join(sorted(g.get("ids") or [])), "ids": sorted(ids), "called": called})
    return out


def osv_inventory(doc):
    inv = set()
    for res in doc.get("results") or []:
        path = norm_path((res.get("source") or {}).get("path"))
        for pk in res.get("packages") or []:
            p = pk.get("package") or {}
            eco = p.get("ecosystem", "")
            name = norm_name(eco, p.get("name", ""))
            inv.add((eco, name, norm_version(eco, name, p.get("version", "")), path))
    return inv


def picket_findings(doc):
    out = []
    for f in doc.get("findings") or []:
        if f.get("kind") != "vulnerability":
            continue
        a = f.get("attributes") or {}
        eco = a.get("ecosystem", "")
        name = norm_name(eco, a.get("package", ""))
        ids = {i for i in (a.get("ids") or "").split(",") if i} | {f.get("ruleId")}
        out.append({"tool": "picket", "ecosystem": eco, "package": name,
                    "version": norm_version(eco, name, a.get("installedVersion", "")),
                    "path": norm_path((f.get("location") or {}).get("path")), "id": f.get("ruleId"),
                    "ids": sorted(i for i in ids if i), "fixed": a.get("fixedVersion", "")})
    return out


def picket_inventory(doc):
    inv = set()
    for p in doc.get("packages") or []:
        eco = p.get("ecosystem", "")
        name = norm_name(eco, p.get("name", ""))
        inv.add((eco, name, norm_version(eco, name, p.get("version", "")), norm_path(p.get("path"))))
    return inv


def components(findings):
    """Connected components of findings linked by shared ids, per (eco, package, version, path)."""
    parent = list(range(len(findings)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_key_id = {}
    for i, f in enumerate(findings):
        key = (f["ecosystem"], f["package"], f["version"], f["path"])
        for vid in f["ids"]:
            j = by_key_id.setdefault(key + (vid,), i)
            parent[find(i)] = find(j)
    comps = defaultdict(list)
    for i, f in enumerate(findings):
        comps[find(i)].append(f)
    return list(comps.values())


def verdicts(binary, data, queries):
    if not binary or not queries:
        return {}
    cmd = [binary] + [a for d in data for a in ("-data", d)]
    lines = "".join(json.dumps(q) + "\n" for q in queries)
    res = subprocess.run(cmd, input=lines, capture_output=True, text=True)
    if res.returncode != 0:
        print(f"osvverdict failed: {res.stderr.strip()}", file=sys.stderr)
        return {}
    out = {}
    for line in res.stdout.splitlines():
        a = json.loads(line)
        out[(a["ecosystem"], a["name"], a["version"], tuple(a["ids"]))] = a
    return out


def osv_scanner_cause(d):
    """A known osv-scanner offline limitation that explains a record it did not match, or None."""
    for r in d.get("records") or []:
        if not r["affected"] or r.get("withdrawn"):
            continue
        try:
            rec = json.load(open(r["file"]))
        except (OSError, ValueError):
            continue
        for a in rec.get("affected") or []:
            name = (a.get("package") or {}).get("name", "")
            if norm_name(d["ecosystem"], name) != d["package"]:
                continue
            if name != d["package"]:
                return "osv-scanner-name"
            types = [g.get("type") for g in a.get("ranges") or []]
            if (d["version"] not in (a.get("versions") or []) and types and types[0] not in ("ECOSYSTEM", "SEMVER")
                    and any(t in ("ECOSYSTEM", "SEMVER") for t in types)):
                return "osv-scanner-git-range"
    return None


def reference(binary, data, keys, found):
    """Reference records per (eco, package, version, path) and each tool's deviations from them."""
    pkgs = sorted({(e, n, v) for e, n, v, _ in keys if v and not v.startswith("(")})
    answers = verdicts(binary, data, [{"ecosystem": e, "name": n, "version": v, "ids": []} for e, n, v in pkgs])
    if not answers:
        return None
    ref = {}
    for e, n, v, p in keys:
        a = answers.get((e, n, v, ()))
        recs = [r for r in (a or {}).get("records", []) if r["affected"] and not r.get("withdrawn")]
        if recs:
            ref[(e, n, v, p)] = {r["id"]: r for r in recs}
    out = {"records": sum(len(r) for r in ref.values()), "tools": {}}
    for t in TOOLS:
        by_key = defaultdict(list)
        for f in found[t]:
            by_key[(f["ecosystem"], f["package"], f["version"], f["path"])].append(f)
        missing, extra = [], []
        for k, recs in ref.items():
            have = {i for f in by_key.get(k, []) for i in f["ids"]}
            for rid, r in sorted(recs.items()):
                if not have & ({rid} | set(r.get("aliases") or [])):
                    missing.append({"ecosystem": k[0], "package": k[1], "version": k[2], "path": k[3], "id": rid,
                                    "why": r["why"]})
        for k, fs in by_key.items():
            known = {i for rid, r in ref.get(k, {}).items() for i in [rid] + (r.get("aliases") or [])}
            for f in fs:
                if not set(f["ids"]) & known:
                    extra.append({"ecosystem": k[0], "package": k[1], "version": k[2], "path": k[3], "id": f["id"],
                                  "ids": f["ids"]})
        out["tools"][t] = {"missing": missing, "extra": extra}
    return out


def diff(args):
    osv_doc = json.load(open(args.osv))
    pk_doc = json.load(open(args.picket))
    inv = {"osv-scanner": osv_inventory(json.load(open(args.osv_inventory))) if args.osv_inventory else None,
           "picket": picket_inventory(pk_doc)}
    found = {"osv-scanner": osv_findings(osv_doc), "picket": picket_findings(pk_doc)}
    comps = components(found["osv-scanner"] + found["picket"])

    matched, grouping, lonely = 0, [], []
    for c in comps:
        sides = {t: [f for f in c if f["tool"] == t] for t in TOOLS}
        if sides["osv-scanner"] and sides["picket"]:
            matched += 1
            if len(sides["osv-scanner"]) != len(sides["picket"]):
                f0 = c[0]
                grouping.append({"category": "grouping", "ecosystem": f0["ecosystem"], "package": f0["package"],
                                 "version": f0["version"], "path": f0["path"],
                                 "osv-scanner": [f["id"] for f in sides["osv-scanner"]],
                                 "picket": [f["id"] for f in sides["picket"]]})
        else:
            tool = "osv-scanner" if sides["osv-scanner"] else "picket"
            ids = sorted({i for f in c for i in f["ids"]})
            f0 = c[0]
            lonely.append({"only": tool, "ecosystem": f0["ecosystem"], "package": f0["package"],
                           "version": f0["version"], "path": f0["path"], "ids": ids,
                           "findings": [f["id"] for f in c], "called": f0.get("called")})

    # Pair lonely findings across tools by ids (another version or path).
    for d in lonely:
        other = [e for e in lonely if e["only"] != d["only"] and e["ecosystem"] == d["ecosystem"]
                 and e["package"] == d["package"] and set(e["ids"]) & set(d["ids"])]
        if any(e["version"] != d["version"] for e in other):
            d["category"] = "version"
            d["other"] = sorted({e["version"] for e in other})
        elif other:
            d["category"] = "location"
            d["other"] = sorted({e["path"] for e in other})

    queries = []
    for d in lonely:
        if "category" in d:
            continue
        if d["only"] == "osv-scanner" and d.get("called") is False:
            d["category"] = "uncalled"
            continue
        oth = "picket" if d["only"] == "osv-scanner" else "osv-scanner"
        oinv = inv[oth]
        if oinv is not None:
            same_pkg = {(v, p) for (e, n, v, p) in oinv if e == d["ecosystem"] and n == d["package"]}
            if (d["version"], d["path"]) not in same_pkg:
                d["category"] = "inventory"
                d["other"] = sorted(f"{v} at {p}" for v, p in same_pkg) or ["package not detected"]
                continue
        queries.append({"ecosystem": d["ecosystem"], "name": d["package"], "version": d["version"], "ids": d["ids"]})
    answers = verdicts(args.verdict, args.data or [], queries)
    for d in lonely:
        if "category" in d:
            continue
        a = answers.get((d["ecosystem"], d["package"], d["version"], tuple(d["ids"])))
        if not a or not a["records"]:
            d["category"] = "unknown"
            continue
        d["records"] = a["records"]
        if all(r.get("withdrawn") for r in a["records"]):
            d["category"] = "withdrawn"
        elif any(r["affected"] and not r.get("withdrawn") for r in a["records"]):
            d["category"] = "missed"
            if d["only"] == "picket":
                d["category"] = osv_scanner_cause(d) or "missed"
        else:
            d["category"] = "spurious"

    for d in lonely:
        oth = "picket" if d["only"] == "osv-scanner" else "osv-scanner"
        if d["category"] == "missed" or d["category"].startswith("osv-scanner-"):
            d["bug_in"] = oth
        elif d["category"] == "spurious":
            d["bug_in"] = d["only"]

    counts = {}
    for t in TOOLS:
        fs = found[t]
        counts[t] = {"findings": len(fs),
                     "unique_package_vulnerabilities": len({(f["ecosystem"], f["package"], f["version"], f["id"])
                                                            for f in fs}),
                     "packages_with_findings": len({(f["ecosystem"], f["package"], f["version"]) for f in fs}),
                     "only_this_tool": sum(1 for d in lonely if d["only"] == t)}
    result = {"image": args.image, "counts": counts, "matched_vulnerabilities": matched,
              "differences": lonely, "grouping": grouping,
              "categories": sorted({d["category"] for d in lonely} | ({"grouping"} if grouping else set()))}
    result["explanations"] = {c: EXPLAIN[c] for c in result["categories"]}
    if inv["osv-scanner"] is not None:
        real = {t: {k for k in inv[t] if not k[2].startswith("(")} for t in TOOLS}  # drop Go main modules "(devel)"
        result["inventory"] = {"picket": len(real["picket"]), "osv-scanner": len(real["osv-scanner"]),
                               "only_picket": sorted(map(list, real["picket"] - real["osv-scanner"])),
                               "only_osv-scanner": sorted(map(list, real["osv-scanner"] - real["picket"]))}
    keys = inv["picket"] | (inv["osv-scanner"] or set())
    ref = reference(args.verdict, args.data or [], keys, found) if args.verdict else None
    if ref is not None:
        result["reference"] = ref
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)

    o, p = counts["osv-scanner"], counts["picket"]
    print(f"{args.image}: osv-scanner {o['findings']} findings ({o['packages_with_findings']} packages), "
          f"picket {p['findings']} findings ({p['packages_with_findings']} packages); "
          f"{matched} vulnerabilities found by both, {o['only_this_tool']} by osv-scanner only, "
          f"{p['only_this_tool']} by picket only")
    if "inventory" in result:
        i = result["inventory"]
        print(f"  packages detected (name, version, path): picket {i['picket']}, osv-scanner {i['osv-scanner']}, "
              f"only picket {len(i['only_picket'])}, only osv-scanner {len(i['only_osv-scanner'])}")
        for t in ("picket", "osv-scanner"):
            for e, n, v, path in i["only_" + t][:args.max_lines or None]:
                print(f"    only {t}: {e} {n}@{v} {path}")
    shown = defaultdict(int)
    for d in sorted(lonely, key=lambda d: (d["category"], d["only"], d["package"], d["version"], d["ids"])):
        cat = (d["category"], d["only"])
        shown[cat] += 1
        if args.max_lines and shown[cat] > args.max_lines:
            continue
        extra = f" (other tool: {', '.join(d['other'])})" if d.get("other") else ""
        if d.get("bug_in"):
            extra += f" -> matching bug in {d['bug_in']}"
        print(f"  only {d['only']:<11} [{d['category']}] {d['ecosystem']} {d['package']}@{d['version']} "
              f"{d['path']}: {','.join(d['findings'])} (ids {','.join(d['ids'])}){extra}")
        for r in d.get("records") or []:
            if r["affected"] or len(d["records"]) == 1:
                print(f"      {r['id']}: affected={str(r['affected']).lower()}"
                      f"{' withdrawn' if r.get('withdrawn') else ''} - {r['why']}")
    for (cat, only), n in sorted(shown.items()):
        if args.max_lines and n > args.max_lines:
            print(f"  ... {n - args.max_lines} more [{cat}] only {only} (all {n} in {args.out})")
    for g in grouping:
        print(f"  grouping   {g['ecosystem']} {g['package']}@{g['version']}: osv-scanner {','.join(g['osv-scanner'])}"
              f" vs picket {','.join(g['picket'])}")
    for c in result["categories"]:
        print(f"  why [{c}]: {EXPLAIN[c]}")
    if not lonely and not grouping:
        print("  no differences")
    if ref is not None:
        print(f"  reference (records whose own ranges contain the version, osvverdict): {ref['records']} records; "
              + "; ".join(f"{t} missing {len(r['missing'])}, extra {len(r['extra'])}" for t, r in ref["tools"].items()))
        for t, r in ref["tools"].items():
            lines = [f"    {t} misses {m['id']} on {m['ecosystem']} {m['package']}@{m['version']} {m['path']}: {m['why']}"
                     for m in r["missing"]]
            lines += [f"    {t} reports {x['id']} on {x['ecosystem']} {x['package']}@{x['version']} {x['path']}, "
                      f"which no affecting record explains (ids {','.join(x['ids'])})" for x in r["extra"]]
            for line in lines[:args.max_lines or None]:
                print(line)
            if args.max_lines and len(lines) > args.max_lines:
                print(f"    ... {len(lines) - args.max_lines} more for {t} (all in {args.out})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("diff")
    d.add_argument("--image", required=True)
    d.add_argument("--osv", required=True)
    d.add_argument("--osv-inventory")
    d.add_argument("--picket", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--verdict", help="osvverdict binary")
    d.add_argument("--data", action="append", help="OSV record directory (repeatable)")
    d.add_argument("--max-lines", type=int, default=10, help="differences printed per category (0: all)")
    args = ap.parse_args()
    if args.cmd == "diff":
        diff(args)


if __name__ == "__main__":
    main()
