"""Prints every benchmark of one run beside its anchors, as ratios to mproc.

Input: "TAG:path" arguments, each a Google Benchmark JSON file (the Python anchors write the same
shape) measured under the placement TAG (e.g. "one core", "two cores"). Names are
"<workload>/<competitor>"; within a workload the "mproc" entry is the reference (1.00) and every
other row shows competitor_time / mproc_time (> 1: mproc is faster)."""
import json
import sys
from collections import defaultdict

SCALE = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def fmt(ns):
    for unit, f in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= f:
            return f"{ns / f:8.2f} {unit}"
    return f"{ns:8.1f} ns"


def main(paths):
    rows = defaultdict(dict)
    for arg in paths:
        tag, _, path = arg.partition(":")
        with open(path) as f:
            for b in json.load(f)["benchmarks"]:
                if b.get("run_type") == "aggregate" or b.get("error_occurred"):
                    continue
                name = b["name"].removesuffix("/real_time")
                workload, _, who = name.partition("/")
                workload = f"{workload} [{tag}]"
                rows[workload][who] = b["real_time"] * SCALE[b.get("time_unit", "ns")]
    for workload, comps in rows.items():
        ref = comps.get("mproc")
        print(f"\n{workload} (time per operation; ratio = competitor / mproc)")
        for who, ns in sorted(comps.items(), key=lambda kv: kv[0] != "mproc"):
            ratio = f"{ns / ref:8.2f}x" if ref else "     n/a"
            print(f"  {who:<28} {fmt(ns)}  {ratio}")


if __name__ == "__main__":
    main(sys.argv[1:])
