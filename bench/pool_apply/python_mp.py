"""Anchor: Python's multiprocessing.Pool(2).apply (fork) round trip of a trivial function."""
import json
import multiprocessing as mp
import sys
import time


def plus_one(x):
    return x + 1


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    with mp.get_context("fork").Pool(2) as pool:
        v = 0
        for _ in range(200):  # warm-up
            v = pool.apply(plus_one, (v,))
        t0 = time.perf_counter()
        for _ in range(rounds):
            v = pool.apply(plus_one, (v,))
        dt = time.perf_counter() - t0
        pool.close()
        pool.join()
    json.dump({"benchmarks": [{"name": "pool_apply/python_mp", "real_time": dt / rounds * 1e9,
                               "time_unit": "ns", "iterations": rounds}]}, sys.stdout)


if __name__ == "__main__":
    main()
