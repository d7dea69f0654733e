"""Anchor: Python's multiprocessing.Pool(2).imap (fork) of tiny tasks over itertools.count(),
the first N results consumed, then the pool terminated (an endless imap cannot be abandoned
otherwise). Two rows: Python's default chunksize (1) and chunksize 5000."""
import itertools
import json
import multiprocessing as mp
import sys
import time


def tiny(x):
    return x * 2 + 1


def measure(items, chunksize):
    with mp.get_context("fork").Pool(2) as pool:
        pool.apply(tiny, (0,))  # the workers are up before the clock starts
        t0 = time.perf_counter()
        got = 0
        for _ in pool.imap(tiny, itertools.count(), chunksize):
            got += 1
            if got == items:
                break
        dt = time.perf_counter() - t0
        pool.terminate()
    return dt


def main():
    out = []
    for name, items, chunksize in (("python_mp", 20_000, 1),
                                   ("python_mp_chunk5000", 200_000, 5000)):
        dt = measure(items, chunksize)
        out.append({"name": f"pool_imap_endless/{name}", "real_time": dt / items * 100_000 * 1e9,
                    "time_unit": "ns", "iterations": 1, "items_per_second": items / dt})
    json.dump({"benchmarks": out}, sys.stdout)


if __name__ == "__main__":
    main()
