"""Anchor: concurrent.futures.ProcessPoolExecutor(2) (fork) map of 100k tiny tasks, chunksize 5000
(its default chunksize is 1: hopeless for tiny tasks)."""
import json
import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor

ITEMS = 100_000


def tiny(x):
    return x * 2 + 1


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    inputs = list(range(ITEMS))
    with ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as ex:
        list(ex.map(tiny, inputs, chunksize=5000))  # warm-up: the workers are up
        t0 = time.perf_counter()
        for _ in range(rounds):
            out = list(ex.map(tiny, inputs, chunksize=5000))
        dt = time.perf_counter() - t0
        assert out[-1] == tiny(ITEMS - 1)
    json.dump({"benchmarks": [{"name": "pool_map_tiny/python_futures",
                               "real_time": dt / rounds * 1e9, "time_unit": "ns",
                               "iterations": rounds, "items_per_second": ITEMS * rounds / dt}]},
              sys.stdout)


if __name__ == "__main__":
    main()
