"""Anchor: Python's multiprocessing.Pool(2) start, one trivial apply, close, join, under each
start method (fork, forkserver, spawn)."""
import json
import multiprocessing as mp
import sys
import time


def plus_one(x):
    return x + 1


def measure(method, rounds):
    ctx = mp.get_context(method)
    v = 0
    with ctx.Pool(1) as pool:  # warm-up: forkserver starts its server here
        v = pool.apply(plus_one, (v,))
    t0 = time.perf_counter()
    for _ in range(rounds):
        with ctx.Pool(2) as pool:
            v = pool.apply(plus_one, (v,))
            pool.close()
            pool.join()
    return (time.perf_counter() - t0) / rounds


def main():
    rounds = {"fork": 20, "forkserver": 10, "spawn": 5}
    out = []
    for method, n in rounds.items():
        dt = measure(method, n)
        out.append({"name": f"pool_startup_{method}/python_mp", "real_time": dt * 1e9,
                    "time_unit": "ns", "iterations": n})
    json.dump({"benchmarks": out}, sys.stdout)


if __name__ == "__main__":
    main()
