"""Anchor: Python's multiprocessing.Pipe large messages — send a small int, receive 1 MiB of
bytes (send_bytes / recv_bytes) from an echo Process; bandwidth of the replies."""
import json
import multiprocessing as mp
import sys
import time

BYTES = 1 << 20


def server(conn, unused):
    unused.close()
    payload = bytes([7]) * BYTES
    try:
        while True:
            conn.recv()
            conn.send_bytes(payload)
    except EOFError:
        pass


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    a, b = mp.get_context("fork").Pipe()
    p = mp.get_context("fork").Process(target=server, args=(b, a))
    p.start()
    b.close()
    for _ in range(20):  # warm-up
        a.send(0)
        a.recv_bytes()
    t0 = time.perf_counter()
    for _ in range(rounds):
        a.send(1)
        r = a.recv_bytes()
    dt = time.perf_counter() - t0
    assert len(r) == BYTES
    a.close()
    p.join()
    json.dump({"benchmarks": [{"name": "pipe_1mib/python_mp", "real_time": dt / rounds * 1e9,
                               "time_unit": "ns", "iterations": rounds,
                               "bytes_per_second": BYTES * rounds / dt}]}, sys.stdout)


if __name__ == "__main__":
    main()
