"""Anchor: Python's multiprocessing.Pool(2).map (fork) of 100k tiny tasks, default chunksize."""
import json
import multiprocessing as mp
import sys
import time

ITEMS = 100_000


def tiny(x):
    return x * 2 + 1


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    inputs = list(range(ITEMS))
    with mp.get_context("fork").Pool(2) as pool:
        pool.map(tiny, inputs)  # warm-up
        t0 = time.perf_counter()
        for _ in range(rounds):
            out = pool.map(tiny, inputs)
        dt = time.perf_counter() - t0
        assert out[-1] == tiny(ITEMS - 1)
        pool.close()
        pool.join()
    json.dump({"benchmarks": [{"name": "pool_map_tiny/python_mp", "real_time": dt / rounds * 1e9,
                               "time_unit": "ns", "iterations": rounds,
                               "items_per_second": ITEMS * rounds / dt}]}, sys.stdout)


if __name__ == "__main__":
    main()
