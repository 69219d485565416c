#!/usr/bin/env python3
"""Compare CycloneDX JSON SBOMs of the same image from two tools.

usage: cdxcompare.py count SBOM
       cdxcompare.py diff NAME_A SBOM_A NAME_B SBOM_B OUT_JSON [--show N]

A package is a component (nested ones included) whose type is not
operating-system, file, container, device or data: syft lists every file with
digests as a "file" component and the distribution as "operating-system".
Packages are compared as name@version sets (names found by both tools with
different versions are listed apart), then by package URL without qualifiers
and subpath, percent-decoded, which sees past naming conventions (Maven group:artifact against
artifact, for example).
"""
import json
import sys
from urllib.parse import unquote

NOT_PACKAGES = {"operating-system", "file", "container", "device", "data", "firmware"}


def packages(path):
    with open(path) as f:
        doc = json.load(f)
    out = []
    stack = list(doc.get("components") or [])
    while stack:
        c = stack.pop()
        stack.extend(c.get("components") or [])
        if c.get("type") in NOT_PACKAGES:
            continue
        purl = c.get("purl") or ""
        # Canonical enough to compare: no qualifiers or subpath, and no
        # percent-encoding (tools differ on encoding ':' in versions).
        purl = unquote(purl.split("#", 1)[0].split("?", 1)[0])
        out.append((c.get("name") or "", c.get("version") or "", purl))
    return out


def show(title, items, limit):
    print(f"  {title}: {len(items)}")
    for s in items[:limit]:
        print(f"    {s}")
    if len(items) > limit:
        print(f"    ... {len(items) - limit} more (see the JSON summary)")


def main(argv):
    if len(argv) == 3 and argv[1] == "count":
        print(len(packages(argv[2])))
        return 0
    if len(argv) >= 7 and argv[1] == "diff":
        name_a, path_a, name_b, path_b, out = argv[2:7]
        limit = int(argv[8]) if len(argv) > 8 and argv[7] == "--show" else 40
        a, b = packages(path_a), packages(path_b)
        sa = {f"{n}@{v}" for n, v, _ in a}
        sb = {f"{n}@{v}" for n, v, _ in b}
        va, vb = {}, {}
        for n, v, _ in a:
            va.setdefault(n, set()).add(v)
        for n, v, _ in b:
            vb.setdefault(n, set()).add(v)
        pa = {p or f"(no purl) {n}@{v}" for n, v, p in a}
        pb = {p or f"(no purl) {n}@{v}" for n, v, p in b}
        version_differs = sorted(
            f"{n}: {name_a} {','.join(sorted(va[n]))} / {name_b} {','.join(sorted(vb[n]))}"
            for n in va.keys() & vb.keys() if va[n] != vb[n])
        names_b_only = {n for n in vb if n not in va}
        names_a_only = {n for n in va if n not in vb}
        only_a = sorted(s for s in sa - sb)
        only_b = sorted(s for s in sb - sa)
        result = {
            name_a: {"components": len(a), "unique": len(sa)},
            name_b: {"components": len(b), "unique": len(sb)},
            "common": len(sa & sb),
            f"only_in_{name_a}": only_a,
            f"only_in_{name_b}": only_b,
            f"names_only_in_{name_a}": sorted(names_a_only),
            f"names_only_in_{name_b}": sorted(names_b_only),
            "version_differs": version_differs,
            "purl_common": len(pa & pb),
            f"purl_only_in_{name_a}": sorted(pa - pb),
            f"purl_only_in_{name_b}": sorted(pb - pa),
        }
        with open(out, "w") as f:
            json.dump(result, f, indent=2)
        print(f"  {name_a}: {len(a)} packages ({len(sa)} distinct name@version), "
              f"{name_b}: {len(b)} ({len(sb)}), both: {len(sa & sb)}")
        show(f"name@version only in {name_a}", only_a, limit)
        show(f"name@version only in {name_b}", only_b, limit)
        show("same name, other version", version_differs, limit)
        print(f"  by package URL (qualifiers dropped): both: {len(pa & pb)}")
        show(f"purl only in {name_a}", sorted(pa - pb), limit)
        show(f"purl only in {name_b}", sorted(pb - pa), limit)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
