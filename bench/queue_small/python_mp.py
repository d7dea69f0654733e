"""Anchor: Python's multiprocessing.Queue (fork) of small ints, one producer process, this
process consuming. Time per batch of 100,000 items (the mproc entry's unit)."""
import json
import multiprocessing as mp
import sys
import time

BATCH = 100_000


def produce(q, n):
    for i in range(n):
        q.put(i)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=produce, args=(q, n + 1000))
    p.start()
    for _ in range(1000):  # warm-up: the producer is running
        q.get()
    t0 = time.perf_counter()
    expect = 1000
    for _ in range(n):
        v = q.get()
        assert v == expect
        expect += 1
    dt = time.perf_counter() - t0
    p.join()
    json.dump({"benchmarks": [{"name": "queue_small/python_mp", "real_time": dt / n * BATCH * 1e9,
                               "time_unit": "ns", "iterations": n // BATCH,
                               "items_per_second": n / dt}]}, sys.stdout)


if __name__ == "__main__":
    main()
