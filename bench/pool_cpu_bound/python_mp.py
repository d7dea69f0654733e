"""Anchor: Python's multiprocessing.Pool(2).map (fork) of 8 CPU-bound items of ~50 ms each,
default chunksize; "efficiency" = serial time / (pool time * 2 workers)."""
import json
import multiprocessing as mp
import sys
import time

ITEMS = 8
ITEM_SECONDS = 0.050
MASK = (1 << 64) - 1


def spin(rounds):
    x = rounds
    for _ in range(rounds):
        x = (x * 6364136223846793005 + 1442695040888963407) & MASK
        x ^= x >> 29
    return x


def calibrated_rounds():
    probe = 50_000
    best = min(timed(spin, probe) for _ in range(5))
    return int(probe * ITEM_SECONDS / best)


def timed(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    items = [calibrated_rounds()] * ITEMS
    with mp.get_context("fork").Pool(2) as pool:
        pool.apply(spin, (1,))  # the workers are up before the clock starts
        serial = timed(lambda: [spin(n) for n in items])
        t0 = time.perf_counter()
        for _ in range(rounds):
            pool.map(spin, items)
        dt = time.perf_counter() - t0
        pool.close()
        pool.join()
    json.dump({"benchmarks": [{"name": "pool_cpu_bound/python_mp", "real_time": dt / rounds * 1e9,
                               "time_unit": "ns", "iterations": rounds,
                               "efficiency": serial / (dt / rounds * 2)}]}, sys.stdout)


if __name__ == "__main__":
    main()
