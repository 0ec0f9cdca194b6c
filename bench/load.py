"""Load test of `pawpularity serve`: a real server on loopback, N requests at concurrency C.

    python bench/load.py RUN [--n 200] [--concurrency 8] [--endpoint score|explain|advise|mix]

Starts the server (it warms up before listening), measures its resident memory, sends a few
requests one at a time (the reference latency), then N requests from C threads cycling through
the shipped photos, and prints p50/p95 latency against the reference, errors, throughput and
resident memory before, halfway and after. Goal: 0 errors and memory growth under 10 %, none of
it in the second half (a leak keeps growing).
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

import numpy as np

from pawpularity.data.demo import PHOTOS_DIR

PATHS = {"score": "/api/score", "explain": "/api/explain", "advise": "/api/advise"}
REFERENCE_REQUESTS = 5


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run", type=Path, help="a training run folder")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--endpoint", choices=[*PATHS, "mix"], default="score")
    parser.add_argument("--runtime", default="auto")
    args = parser.parse_args()

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
    growth, late = 100 * (after[1] - before) / before, 100 * (after[1] - after[0]) / after[0]
    print(
        f"memory    {before:.0f} MB before, {after[0]:.0f} MB halfway, {after[1]:.0f} MB after "
        f"({growth:+.1f} %; second half {late:+.1f} %)"
    )


if __name__ == "__main__":
    main()
