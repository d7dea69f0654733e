"""Anchor: concurrent.futures.ProcessPoolExecutor(2) start, one trivial submit(...).result(),
shutdown (wait), under each start method (fork, forkserver, spawn)."""
import json
import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def plus_one(x):
    return x + 1


def measure(method, rounds):
    ctx = mp.get_context(method)
    v = 0
    with ProcessPoolExecutor(1, mp_context=ctx) as ex:  # warm-up: forkserver starts its server
        v = ex.submit(plus_one, v).result()
    t0 = time.perf_counter()
    for _ in range(rounds):
        with ProcessPoolExecutor(2, mp_context=ctx) as ex:
            v = ex.submit(plus_one, v).result()
    return (time.perf_counter() - t0) / rounds


def main():
    rounds = {"fork": 10, "forkserver": 5, "spawn": 3}
    out = []
    for method, n in rounds.items():
        dt = measure(method, n)
        out.append({"name": f"pool_startup_{method}/python_futures", "real_time": dt * 1e9,
                    "time_unit": "ns", "iterations": n})
    json.dump({"benchmarks": out}, sys.stdout)


if __name__ == "__main__":
    main()
