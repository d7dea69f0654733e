"""Anchor: Python's multiprocessing.Pipe round trip of a small int with an echo Process."""
import json
import multiprocessing as mp
import sys
import time


def echo(conn, unused):
    unused.close()  # or this child would keep the parent's end open and never see EOF
    try:
        while True:
            conn.send(conn.recv() + 1)
    except EOFError:
        pass


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    a, b = mp.Pipe()
    p = mp.Process(target=echo, args=(b, a))
    p.start()
    b.close()
    v = 0
    for _ in range(1000):  # warm-up
        a.send(v)
        v = a.recv()
    t0 = time.perf_counter()
    for _ in range(rounds):
        a.send(v)
        v = a.recv()
    dt = time.perf_counter() - t0
    a.close()
    p.join()
    json.dump({"benchmarks": [{"name": "pipe_pingpong/python_mp", "real_time": dt / rounds * 1e9,
                               "time_unit": "ns", "iterations": rounds}]}, sys.stdout)


if __name__ == "__main__":
    main()
