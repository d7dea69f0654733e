"""Anchor: joblib (Debian's python3-joblib) Parallel(n_jobs=2, batch_size=5000) over 100k tiny
tasks, its default backend (loky: spawned, reused workers)."""
import json
import sys
import time

from joblib import Parallel, delayed

ITEMS = 100_000


def tiny(x):
    return x * 2 + 1


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    inputs = list(range(ITEMS))
    par = Parallel(n_jobs=2, batch_size=5000)
    par(delayed(tiny)(x) for x in inputs)  # warm-up: loky's workers are up
    t0 = time.perf_counter()
    for _ in range(rounds):
        out = par(delayed(tiny)(x) for x in inputs)
    dt = time.perf_counter() - t0
    assert out[-1] == tiny(ITEMS - 1)
    json.dump({"benchmarks": [{"name": "pool_map_tiny/python_joblib",
                               "real_time": dt / rounds * 1e9, "time_unit": "ns",
                               "iterations": rounds, "items_per_second": ITEMS * rounds / dt}]},
              sys.stdout)


if __name__ == "__main__":
    main()
