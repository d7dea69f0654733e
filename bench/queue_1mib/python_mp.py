"""Anchor: Python's multiprocessing.Queue (fork) of 1 MiB bytes items, one producer process,
this process consuming."""
import json
import multiprocessing as mp
import sys
import time

BYTES = 1 << 20


def produce(q, n):
    item = bytes([7]) * BYTES
    for _ in range(n):
        q.put(item)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=produce, args=(q, n + 10))
    p.start()
    for _ in range(10):  # warm-up
        q.get()
    t0 = time.perf_counter()
    for _ in range(n):
        assert len(q.get()) == BYTES
    dt = time.perf_counter() - t0
    p.join()
    json.dump({"benchmarks": [{"name": "queue_1mib/python_mp", "real_time": dt / n * 1e9,
                               "time_unit": "ns", "iterations": n,
                               "bytes_per_second": BYTES * n / dt}]}, sys.stdout)


if __name__ == "__main__":
    main()
