"""Anchor: Python's multiprocessing.Pool(2).apply (fork) of a task that returns 1 MiB of bytes."""
import json
import multiprocessing as mp
import sys
import time

BYTES = 1 << 20


def one_mib(fill):
    return bytes([fill]) * BYTES


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 150
    with mp.get_context("fork").Pool(2) as pool:
        for _ in range(10):  # warm-up
            pool.apply(one_mib, (1,))
        t0 = time.perf_counter()
        for _ in range(rounds):
            r = pool.apply(one_mib, (1,))
        dt = time.perf_counter() - t0
        assert len(r) == BYTES
        pool.close()
        pool.join()
    json.dump({"benchmarks": [{"name": "pool_result_1mib/python_mp", "real_time": dt / rounds * 1e9,
                               "time_unit": "ns", "iterations": rounds,
                               "bytes_per_second": BYTES * rounds / dt}]}, sys.stdout)


if __name__ == "__main__":
    main()
