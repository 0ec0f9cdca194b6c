"""Load test of `pawpularity serve`: a real server on loopback, N requests at concurrency C.

    python bench/load.py RUN [--n 200] [--concurrency 8] [--endpoint score|explain|advise|mix]
    python bench/load.py RUN --scenario slow [--n 40]    # stalled clients beside real ones
    python bench/load.py RUN --scenario heavy [--n 40]   # a queue of heavy maps beside scores

Starts the server (it warms up before listening), measures its resident memory, sends a few
requests one at a time (the reference latency), then:
- load: N requests from C threads cycling through the shipped photos; p50/p95 latency against
  the reference, errors, throughput and resident memory before, halfway and after. Goal: 0
  errors and memory growth under 10 %, none of it in the second half (a leak keeps growing).
  For `score`, also the share of the machine's float32 matmul peak (`bench/peak.py`, measured
  after the server stopped) that its throughput reaches, from the run's FLOPs per photo.
- slow: N connections that send half a request head, and N more that stall in their body, held
  open while scores are requested one after another; the p95 of those scores, and how many of
  the stalled connections the server cut off (goal: all, within its timeouts).
- heavy: C threads sending every-method explain requests without pause (more than the heavy
  queue holds: some get 503 with Retry-After) while N scores are requested one after another;
  the p95 of the scores against one alone (goal: a few times one alone, not the queue's wait).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from peak import matmul_gflops, share
from scale import run_gflop

from pawpularity.data.demo import PHOTOS_DIR

PATHS = {"score": "/api/score", "explain": "/api/explain", "advise": "/api/advise"}
REFERENCE_REQUESTS = 5
ALL_METHODS = ("vanilla", "smoothgrad", "gradcam", "gradcampp", "rise")
HOLD = 30.0  # seconds the stalled connections are held before counting the ones cut off


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def multipart(path: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode(), boundary


def post(port: int, endpoint: str, photo: tuple[bytes, str]) -> tuple[float, int]:
    """(seconds, status); status 0 for a connection failure."""
    body, boundary = photo
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        connection.request(
            "POST",
            PATHS[endpoint],
            body,
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        response = connection.getresponse()
        response.read()
        status = response.status
    except OSError:
        status = 0
    finally:
        connection.close()
    return time.perf_counter() - start, status


def wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with code {server.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.5)
    sys.exit("the server did not start in time")


def stalled(port: int, n: int, photo: tuple[bytes, str]) -> list[socket.socket]:
    """n connections stuck in their request head and n stuck in their body."""
    body, boundary = photo
    head = (
        f"POST /api/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
    ).encode()
    sockets = []
    for i in range(2 * n):
        s = socket.create_connection(("127.0.0.1", port), timeout=120)
        s.sendall(b"POST /api/score HTTP/1.1\r\nHost: 1" if i < n else head + body[:1000])
        sockets.append(s)
    return sockets


def cut_off(sockets: list[socket.socket]) -> int:
    """How many of the connections the server has closed (a read returns, or fails)."""
    closed = 0
    for s in sockets:
        s.settimeout(0.01)
        try:
            s.recv(65536)
            closed += 1  # an answer (408) or the end of the stream
        except TimeoutError:
            pass
        except OSError:
            closed += 1
        s.close()
    return closed


def scores_beside(port: int, photos: list[tuple[bytes, str]], n: int) -> np.ndarray:
    return np.array([post(port, "score", photos[i % len(photos)])[0] for i in range(n)])


def heavy_flood(port: int, photos: list[tuple[bytes, str]], threads: int, stop: float) -> Any:
    """Threads posting every-method explain requests until `stop`; their statuses."""
    statuses: list[int] = []

    def flood(i: int) -> None:
        while time.monotonic() < stop:
            body, boundary = photos[i % len(photos)]
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            connection.request(
                "POST",
                PATHS["explain"] + "?methods=" + ",".join(ALL_METHODS),
                body,
                {"Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
            if response.status == 503:
                time.sleep(1)  # as a client honouring Retry-After, a little impatient

    pool = ThreadPoolExecutor(threads)
    futures = [pool.submit(flood, i) for i in range(threads)]
    return pool, futures, statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="a training run folder")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--endpoint", choices=[*PATHS, "mix"], default="score")
    parser.add_argument("--scenario", choices=["load", "slow", "heavy"], default="load")
    parser.add_argument("--runtime", default="auto")
    args = parser.parse_args()
    if args.scenario != "load":
        scenario(args)
        return

    photos = [multipart(p) for p in sorted(PHOTOS_DIR.glob("*.jpg"))]
    endpoints = list(PATHS) if args.endpoint == "mix" else [args.endpoint]
    jobs = list(itertools.islice(zip(itertools.cycle(endpoints), itertools.cycle(photos)), args.n))
    port = free_port()
    command = [sys.executable, "-m", "pawpularity", "serve", str(args.run), "--port", str(port)]
    server = subprocess.Popen([*command, "--runtime", args.runtime])
    try:
        wait_ready(port, server)
        before = rss_mb(server.pid)
        reference = [post(port, e, p)[0] for e, p in jobs[:REFERENCE_REQUESTS]]
        start = time.perf_counter()
        results, after = [], []  # memory after each half: a leak keeps growing in the second
        with ThreadPoolExecutor(args.concurrency) as pool:
            for half in (jobs[: args.n // 2], jobs[args.n // 2 :]):
                results += list(pool.map(lambda job: post(port, *job), half))
                after.append(rss_mb(server.pid))
        wall = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(30)
    seconds = np.array([s for s, _ in results])
    errors = sum(status != 200 for _, status in results)
    p50, p95 = np.percentile(seconds, [50, 95])
    one = float(np.median(reference))
    print(f"{args.n} requests to {args.endpoint}, concurrency {args.concurrency}: {errors} errors")
    print(f"latency   p50 {p50:.3f} s ({p50 / one:.1f}x one request alone: {one:.3f} s)")
    print(f"          p95 {p95:.3f} s, max {seconds.max():.3f} s")
    print(f"throughput {args.n / wall:.2f} requests/s (alone: {1 / one:.2f})")
    if args.endpoint == "score" and (gflop := run_gflop(args.run)) is not None:
        print(f"score work {share(args.n / wall * gflop, matmul_gflops())}")
    growth, late = 100 * (after[1] - before) / before, 100 * (after[1] - after[0]) / after[0]
    print(
        f"memory    {before:.0f} MB before, {after[0]:.0f} MB halfway, {after[1]:.0f} MB after "
        f"({growth:+.1f} %; second half {late:+.1f} %)"
    )


def scenario(args: argparse.Namespace) -> None:
    """The slow-client and heavy-mix scenarios (see the module's docstring)."""
    photos = [multipart(p) for p in sorted(PHOTOS_DIR.glob("*.jpg"))]
    port = free_port()
    command = [sys.executable, "-m", "pawpularity", "serve", str(args.run), "--port", str(port)]
    server = subprocess.Popen([*command, "--runtime", args.runtime])
    try:
        wait_ready(port, server)
        one = float(np.median(scores_beside(port, photos, REFERENCE_REQUESTS)))
        if args.scenario == "slow":
            held = stalled(port, args.n, photos[0])
            start = time.monotonic()
            seconds = scores_beside(port, photos, 20)
            time.sleep(max(0.0, HOLD - (time.monotonic() - start)))
            closed = cut_off(held)
            what = f"{2 * args.n} stalled connections ({args.n} in the head, {args.n} in the body)"
            print(f"{what}: the server cut off {closed} within {HOLD:.0f} s")
        else:
            pool, futures, statuses = heavy_flood(
                port, photos, args.concurrency, time.monotonic() + 3600
            )
            time.sleep(5)  # the queue fills
            seconds = scores_beside(port, photos, args.n)
            for f in futures:
                f.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            busy = sum(s == 503 for s in statuses)
            print(
                f"{args.concurrency} threads of every-method explains: {len(statuses)} answered "
                f"while scoring, {busy} of them 503 (queue full), the rest 200"
                if set(statuses) <= {200, 503}
                else f"unexpected statuses: {sorted(set(statuses))}"
            )
    finally:
        server.kill()
        server.wait(30)
    p50, p95 = np.percentile(seconds, [50, 95])
    print(
        f"scores meanwhile: p50 {p50:.3f} s, p95 {p95:.3f} s, max {seconds.max():.3f} s "
        f"(one alone: {one:.3f} s; p95 {p95 / one:.1f}x)"
    )


if __name__ == "__main__":
    main()
