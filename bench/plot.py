"""Plots tiny-task throughput versus task duration (the pool_map_work_<d>us rows of results.json)
for mproc, Python's multiprocessing.Pool and the mutex+condvar thread pool, 2 workers each, with
the ideal 2 workers / d. Usage: plot.py results.json out.png (matplotlib, Debian's
python3-matplotlib; headless)."""
import json
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LINES = (("mproc", "mproc Pool(2).map", "o-"),
         ("python_mp", "Python multiprocessing Pool(2).map (fork)", "s-"),
         ("thread_pool", "C++ mutex+condvar thread pool (2 threads)", "^--"))
ZERO_AT = 0.3  # where the "~0 us" tasks sit on the log axis


def main(src, dst):
    with open(src) as f:
        res = json.load(f)
    series = {}
    for r in res["rows"]:
        found = re.fullmatch(r"pool_map_work_(\d+)us", r["workload"])
        if found and r["placement"] == "two cores" and r["value"]:
            series.setdefault(r["competitor"], []).append((int(found.group(1)), r["value"]))
    if not series:
        print("plot: no pool_map_work rows in results", file=sys.stderr)
        return 1
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for who, label, style in LINES:
        pts = sorted(series.get(who, []))
        if pts:
            ax.plot([d if d else ZERO_AT for d, _ in pts], [v for _, v in pts], style, label=label)
    ds = sorted({d for pts in series.values() for d, _ in pts if d})
    if ds:
        ax.plot(ds, [2e6 / d for d in ds], ":", color="grey", label="ideal: 2 workers / task time")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [ZERO_AT] + ds
    ax.set_xticks(ticks)
    ax.set_xticklabels(["~0"] + [str(d) for d in ds])
    ax.set_xlabel("work per task (µs, busy-wait)")
    ax.set_ylabel("tasks per second")
    m = res.get("machine", {})
    ax.set_title(f"map throughput vs task duration — {m.get('cores', '?')} cores, "
                 f"Python {m.get('python', '?')}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(dst)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
