"""Prints every benchmark of one run beside its anchors, as ratios to mproc.

Input: "TAG:path" arguments, each a Google Benchmark JSON file (the Python anchors write the same
shape) measured under the placement TAG (e.g. "one core", "two cores"). Names are
"<workload>/<competitor>"; within a workload the "mproc" entry is the reference (1.00) and every
other row shows competitor_time / mproc_time (> 1: mproc is faster). Rates and counters a row
carries (items_per_second, bytes_per_second, user counters such as "efficiency") follow it."""
import json
import sys
from collections import defaultdict

SCALE = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
# Google Benchmark's own fields; any other number in an entry is a counter worth printing.
FIELDS = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
          "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
          "time_unit", "label", "error_occurred", "error_message", "aggregate_name",
          "aggregate_unit"}


def fmt(ns):
    for unit, f in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= f:
            return f"{ns / f:8.2f} {unit}"
    return f"{ns:8.1f} ns"


def fmt_counters(b):
    out = []
    for key, v in b.items():
        if key in FIELDS or not isinstance(v, (int, float)):
            continue
        if key == "items_per_second":
            out.append(f"{v / 1e6:.2f} M items/s")
        elif key == "bytes_per_second":
            out.append(f"{v / 1e9:.2f} GB/s")
        else:
            out.append(f"{key} {v:.2f}")
    return "  ".join(out)


def main(paths):
    rows = defaultdict(dict)
    for arg in paths:
        tag, _, path = arg.partition(":")
        with open(path) as f:
            for b in json.load(f)["benchmarks"]:
                if b.get("run_type") == "aggregate" or b.get("error_occurred"):
                    continue
                # Google Benchmark appends "/iterations:N", "/real_time", ...; only two parts count.
                workload, who = b["name"].split("/")[:2]
                workload = f"{workload} [{tag}]"
                rows[workload][who] = (b["real_time"] * SCALE[b.get("time_unit", "ns")],
                                       fmt_counters(b))
    for workload, comps in rows.items():
        ref = comps["mproc"][0] if "mproc" in comps else None
        print(f"\n{workload} (time per operation; ratio = competitor / mproc)")
        for who, (ns, counters) in sorted(comps.items(), key=lambda kv: kv[0] != "mproc"):
            ratio = f"{ns / ref:8.2f}x" if ref else "     n/a"
            print(f"  {who:<28} {fmt(ns)}  {ratio}  {counters}".rstrip())


if __name__ == "__main__":
    main(sys.argv[1:])
