"""Anchor: Python's multiprocessing.Process start + join of a trivial target, under each start
method (fork, forkserver, spawn)."""
import json
import multiprocessing as mp
import sys
import time


def nothing():
    pass


def measure(method, rounds):
    ctx = mp.get_context(method)
    p = ctx.Process(target=nothing)  # warm-up: forkserver starts its server here
    p.start()
    p.join()
    t0 = time.perf_counter()
    for _ in range(rounds):
        p = ctx.Process(target=nothing)
        p.start()
        p.join()
        assert p.exitcode == 0
    return (time.perf_counter() - t0) / rounds


def main():
    rounds = {"fork": 100, "forkserver": 50, "spawn": 10}
    out = []
    for method, n in rounds.items():
        dt = measure(method, n)
        out.append({"name": f"process_startup_{method}/python_mp", "real_time": dt * 1e9,
                    "time_unit": "ns", "iterations": n})
    json.dump({"benchmarks": out}, sys.stdout)


if __name__ == "__main__":
    main()
