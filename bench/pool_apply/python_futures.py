"""Anchor: concurrent.futures.ProcessPoolExecutor(2) (fork) submit(...).result() round trip of a
trivial function."""
import json
import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def plus_one(x):
    return x + 1


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    with ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as ex:
        v = 0
        for _ in range(200):  # warm-up
            v = ex.submit(plus_one, v).result()
        t0 = time.perf_counter()
        for _ in range(rounds):
            v = ex.submit(plus_one, v).result()
        dt = time.perf_counter() - t0
    json.dump({"benchmarks": [{"name": "pool_apply/python_futures",
                               "real_time": dt / rounds * 1e9, "time_unit": "ns",
                               "iterations": rounds}]}, sys.stdout)


if __name__ == "__main__":
    main()
