"""Prints every benchmark of one run beside its anchors as one table, and writes the same as JSON.

Usage: report.py [--build DIR] [--out results.json] [--reps N] [--min-time S] [--seconds S]
                 TAG:path...
Each TAG:path is a Google Benchmark JSON file (the Python anchors write the same shape) measured
under the placement TAG ("one core", "two cores"). Names are "<workload>/<competitor>[/...]";
within a workload "mproc" is the reference. Every figure is the median over the repetitions
(Google Benchmark's --benchmark_repetitions entries, or one entry per run of a Python anchor).

Each workload has one figure, in the unit its entries carry: items/s or GB/s (a rate: higher is
better), else time per operation, or ns per item for the scaling simulation (lower is better).
The ratio column is always "how many times faster mproc is than the anchor": anchor time / mproc
time, i.e. mproc rate / anchor rate (> 1: mproc is faster)."""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict

SCALE = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
# Google Benchmark's own fields; any other number in an entry is a counter worth keeping.
FIELDS = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
          "repetitions", "repetition_index", "threads", "iterations", "real_time", "cpu_time",
          "time_unit", "label", "error_occurred", "error_message", "aggregate_name",
          "aggregate_unit", "items_per_second", "bytes_per_second"}

NOTES = [
    "ratio = how many times faster mproc is than the anchor (anchor time / mproc time, or mproc "
    "rate / anchor rate); > 1: mproc is faster. '-': no mproc figure (or no anchor).",
    "Every figure is the median of the repetitions; '±' is half the range of the repetitions "
    "relative to the median. The machine is a shared 2-core VM: run-to-run noise of 2x on "
    "wake-up-bound figures (apply, Pipe across cores, spinning limits) is usual here.",
    "Placements: 'one core' pins every process to CPU 0 (the software cost; a wake-up is a "
    "context switch); 'two cores' leaves them free (adds the VM's cross-core wake-up latency).",
    "Pool::stats() is always on: its cost to the workers is inside every mproc figure (clock "
    "reads per chunk, per packed run and per sampled item); pool_apply_stats_read is one "
    "stats() call (2 workers: a lock, a copy of the counters, two /proc/<pid>/statm reads).",
    "pool_feature_*: the same workload without and with one optional Pool feature (the "
    "mproc_<feature> rows); the ratio is the feature's cost: 1.00 free, 1.25 a quarter slower. "
    "A soft_timeout leaves the packed path of fixed-size items and times every item.",
    "pool_map_work_<d>us: tasks that busy-wait d us each (2 workers; the ideal is 2/d items/s); "
    "bench.png plots them.",
    "pool_imap_endless: mproc drops the endless range after 100k results (the rest abandoned); "
    "Python's imap over itertools.count() must terminate its pool instead (not timed). "
    "python_mp uses imap's default chunksize 1; python_mp_chunk5000 chunks as mproc would.",
    "pool_map_scaling_w<N>: Pool(N).map of 100k tiny tasks with N = 2..64 workers on 2 cores "
    "(oversubscribed), as ns per item. It CAN show costs that grow with the worker count in the "
    "parent and the protocol: per-worker scans, per-chunk wake-ups (default chunks shrink as N "
    "grows), doorbells and thundering herds, memory per worker. It CANNOT show what a real "
    "N-core machine adds or removes: cache-line traffic between N cores, memory bandwidth, "
    "NUMA, real parallel speed-up; and spin-waiting is penalised here (a spinning worker burns "
    "the time slice of one that has work), so a rising curve may overstate the cost on real "
    "cores. The thread_pool rows are the same run on the mutex+condvar thread pool: what "
    "oversubscription alone costs with no process boundary.",
    "pool_map_scaling_cpu_w<N>: the same map, timed by the CPU time it costs (parent and all "
    "workers, or all the thread pool's threads), per item: what the machine pays whatever the "
    "scheduling. On a real N-core machine that cost is spread over N cores.",
]


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(build):
    m = {"cores": len(os.sched_getaffinity(0)), "kernel": platform.release(),
         "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            names = re.findall(r"^model name\s*:\s*(.*)$", f.read(), re.M)
        m["cpu"] = names[0] if names else platform.machine()
    except OSError:
        m["cpu"] = platform.machine()
    cxx = ""
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            cache = f.read()
        found = re.search(r"^CMAKE_CXX_COMPILER:\w+=(.*)$", cache, re.M)
        cxx = found.group(1) if found else ""
        found = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", cache, re.M)
        if found:
            m["build_type"] = found.group(1)
    except (OSError, TypeError):
        pass
    cxx = cxx or shutil.which("c++") or "c++"
    m["compiler"] = sh(cxx, "--version").splitlines()[0] if sh(cxx, "--version") else cxx
    for pkg in ("libtbb-dev", "python3-joblib", "libbenchmark-dev"):
        v = sh("dpkg-query", "-W", "-f=${Version}", pkg)
        if v:
            m[pkg] = v
    m["os"] = sh("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME")
    return m


def metric_of(workload, entries):
    """The workload's figure, from the keys its entries carry: (kind, unit, scale, higher_better)."""
    keys = set().union(*(e.keys() for e in entries))
    if workload.startswith("pool_map_scaling") and "items_per_second" in keys:
        return "ns_per_item", "ns/item", 1.0, False
    if "bytes_per_second" in keys:
        return "bytes_per_second", "GB/s", 1e9, True
    if "items_per_second" in keys:
        rates = [e["items_per_second"] for e in entries if "items_per_second" in e]
        big = statistics.median(rates) >= 1e6
        if big:
            return "items_per_second", "M items/s", 1e6, True
        return "items_per_second", "k items/s", 1e3, True
    times = [e["real_time"] * SCALE[e.get("time_unit", "ns")] for e in entries]
    ref = statistics.median(times)
    for unit, f in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ref >= f:
            return "time", unit, f, False
    return "time", "ns", 1.0, False


def value_of(kind, e):
    if kind == "time":
        return e["real_time"] * SCALE[e.get("time_unit", "ns")]
    if kind == "ns_per_item":
        return 1e9 / e["items_per_second"] if e.get("items_per_second") else None
    return e.get(kind)


def fmt(v, scale):
    if v is None:
        return "-"
    x = v / scale
    return f"{x:.3g}" if x < 1000 else f"{x:.0f}"


def fmt_spread(runs, med):
    if len(runs) < 2 or not med:
        return ""
    return f" ±{(max(runs) - min(runs)) / 2 / med * 100:.0f}%"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--min-time", type=float, default=None)
    ap.add_argument("--seconds", type=int, default=None)
    ap.add_argument("reports", nargs="*")
    args = ap.parse_args()

    # (workload, placement) -> competitor -> [entries], in the order met
    groups = defaultdict(lambda: defaultdict(list))
    for arg in args.reports:
        tag, _, path = arg.partition(":")
        if not path:  # a bare path: no placement given
            tag, path = "-", tag
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            print(f"report: skipping {path}: {e}", file=sys.stderr)
            continue
        for b in data.get("benchmarks", []):
            if b.get("run_type") == "aggregate" or b.get("error_occurred"):
                continue
            # Google Benchmark appends "/real_time", "/repeats:N", ...; only two parts count.
            workload, who = b["name"].split("/")[:2]
            groups[(workload, tag)][who].append(b)

    m = machine(args.build)
    rows = []
    for (workload, tag), comps in groups.items():
        kind, unit, scale, higher = metric_of(workload, [e for es in comps.values() for e in es])
        figures = {}
        for who, es in comps.items():
            runs = [v for v in (value_of(kind, e) for e in es) if v is not None]
            med = statistics.median(runs) if runs else None
            counters = defaultdict(list)
            for e in es:
                for k, v in e.items():
                    if k not in FIELDS and isinstance(v, (int, float)):
                        counters[k].append(v)
            figures[who] = {
                "value": med, "runs": runs,
                "real_time_ns": statistics.median(
                    e["real_time"] * SCALE[e.get("time_unit", "ns")] for e in es),
                "counters": {k: statistics.median(v) for k, v in counters.items()},
            }
        ref = figures.get("mproc", {}).get("value")
        for who, fig in figures.items():
            ratio = None
            if ref and fig["value"] and who != "mproc":
                ratio = fig["value"] / ref if not higher else ref / fig["value"]
            rows.append({"workload": workload, "placement": tag, "competitor": who,
                         "metric": kind, "unit": unit, "unit_scale": scale,
                         "higher_is_better": higher, "value": fig["value"],
                         "value_in_unit": fig["value"] / scale if fig["value"] else None,
                         "runs": fig["runs"], "real_time_ns": fig["real_time_ns"],
                         "counters": fig["counters"], "mproc_speedup": ratio})

    # The table: one line per (workload, anchor), the mproc figure on the workload's first line.
    print(f"mproc benchmarks — {m['cores']} cores ({m['cpu']}), Linux {m['kernel']}"
          f"{', ' + m['os'] if m.get('os') else ''}")
    print(f"compiler: {m['compiler']} ({m.get('build_type', '?')}); Python {m['python']}; "
          f"oneTBB {m.get('libtbb-dev', 'n/a')}; joblib {m.get('python3-joblib', 'n/a')}")
    settings = f"median of {args.reps} repetitions" if args.reps else "medians"
    if args.min_time:
        settings += f" (C++: >= {args.min_time} s each)"
    if args.seconds is not None:
        settings += f"; whole run {args.seconds} s"
    print(settings)
    head = ("workload", "where", "unit", "mproc", "anchor", "anchor figure", "ratio", "notes")
    lines = []
    by_group = defaultdict(list)
    for r in rows:
        by_group[(r["workload"], r["placement"])].append(r)
    for (workload, tag), rs in by_group.items():
        mp_row = next((r for r in rs if r["competitor"] == "mproc"), None)
        anchors = [r for r in rs if r["competitor"] != "mproc"] or [None]
        where = {"one core": "1 core", "two cores": "2 cores"}.get(tag, tag)
        for i, a in enumerate(anchors):
            first = i == 0
            mcol = ""
            if first:
                mcol = (fmt(mp_row["value"], mp_row["unit_scale"]) +
                        fmt_spread(mp_row["runs"], mp_row["value"])) if mp_row else "-"
            notes = []
            for r in ([mp_row] if first and mp_row else []) + ([a] if a else []):
                for k, v in r["counters"].items():
                    notes.append(f"{r['competitor']} {k} {v:.2f}")
            lines.append((
                workload if first else "", where if first else "", rs[0]["unit"] if first else "",
                mcol,
                a["competitor"] if a else "-",
                (fmt(a["value"], a["unit_scale"]) + fmt_spread(a["runs"], a["value"])) if a else "",
                f"{a['mproc_speedup']:.2f}" if a and a["mproc_speedup"] else "-",
                "; ".join(notes)))
    widths = [max(len(str(x[i])) for x in lines + [head]) for i in range(len(head) - 1)]
    rule = "  ".join("-" * w for w in widths) + "  -----"
    print()
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)) + "  " + head[-1])
    print(rule)
    for ln in lines:
        print(("  ".join(str(c).ljust(w) for c, w in zip(ln, widths)) + "  " + ln[-1]).rstrip())
    print()
    print("Notes:")
    for n in NOTES:
        print(f"- {n}")

    if args.out:
        with open(args.out, "w") as f:
            json.dump({"machine": m,
                       "settings": {"repetitions": args.reps, "min_time_s": args.min_time,
                                    "wall_seconds": args.seconds},
                       "rows": rows, "notes": NOTES}, f, indent=1)
        print(f"\n(JSON: {args.out})")


if __name__ == "__main__":
    main()
