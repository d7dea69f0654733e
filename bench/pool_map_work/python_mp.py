"""Anchor: Python's multiprocessing.Pool(2).map (fork), default chunksize, of tasks that each
busy-wait ~0, 1, 10, 100, 1000 us: throughput versus task duration (the plot's Python line).
Item counts as bench/pool_map_work/work.hpp."""
import functools
import json
import multiprocessing as mp
import sys
import time

DURATIONS_US = (0, 1, 10, 100, 1000)


def work(us, x):
    if us:
        end = time.perf_counter() + us * 1e-6
        while time.perf_counter() < end:
            pass
    return x * 2 + 1


def items(us):
    return 100_000 if us == 0 else min(100_000, max(200, 200_000 // us))


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    out = []
    with mp.get_context("fork").Pool(2) as pool:
        pool.apply(work, (0, 0))  # the workers are up
        for us in DURATIONS_US:
            inputs = list(range(items(us)))
            f = functools.partial(work, us)
            t0 = time.perf_counter()
            for _ in range(rounds):
                pool.map(f, inputs)
            dt = time.perf_counter() - t0
            out.append({"name": f"pool_map_work_{us}us/python_mp", "real_time": dt / rounds * 1e9,
                        "time_unit": "ns", "iterations": rounds,
                        "items_per_second": len(inputs) * rounds / dt})
        pool.close()
        pool.join()
    json.dump({"benchmarks": out}, sys.stdout)


if __name__ == "__main__":
    main()
