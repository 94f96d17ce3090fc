"""A fresh redis-server per test module, on a free port, always stopped afterwards."""

import shutil
import socket
import subprocess
import tempfile
import time

import pytest


@pytest.fixture(scope="module")
def redis_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    workdir = tempfile.mkdtemp()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    try:
        # Ready when it answers PING (usually within a few milliseconds).
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(port), "ping"],
                             capture_output=True).stdout.strip() != b"PONG":
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("redis-server did not start")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)
