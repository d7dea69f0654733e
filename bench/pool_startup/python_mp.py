"""Anchor: Python's multiprocessing.Pool(2) (fork) start, one trivial apply, close, join."""
import json
import multiprocessing as mp
import sys
import time


def plus_one(x):
    return x + 1


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    ctx = mp.get_context("fork")
    v = 0
    t0 = time.perf_counter()
    for _ in range(rounds):
        with ctx.Pool(2) as pool:
            v = pool.apply(plus_one, (v,))
            pool.close()
            pool.join()
    dt = time.perf_counter() - t0
    json.dump({"benchmarks": [{"name": "pool_startup/python_mp", "real_time": dt / rounds * 1e9,
                               "time_unit": "ns", "iterations": rounds}]}, sys.stdout)


if __name__ == "__main__":
    main()
