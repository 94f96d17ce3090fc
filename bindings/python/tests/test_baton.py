"""Two Python handles elect one leader; freeing it hands over; bad input raises BatonError."""

import shutil
import socket
import subprocess
import tempfile
import time
from ctypes import byref, c_void_p

import pytest

import baton


@pytest.fixture(scope="module")
def redis_url():
    """A fresh redis-server on a free port, stopped after the tests."""
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


def next_event(election, kind):
    while True:
        event = election.poll_event(timeout_ms=30_000)
        assert event is not None, f"no event of kind {kind}"
        if event.kind == kind:
            return event


def test_one_leader_and_handover_on_close(redis_url):
    a = baton.Election(redis_url, "py-handover", ttl_ms=3000)
    token_a = a.wait_for_leadership(timeout_ms=30_000)
    assert token_a > 0
    assert a.is_leader() and a.token() == token_a

    b = baton.Election(redis_url, "py-handover", ttl_ms=3000)
    assert not b.is_leader()
    assert b.token() is None
    seen = next_event(b, baton.LEADER_CHANGED)
    while not seen.has_leader:
        seen = next_event(b, baton.LEADER_CHANGED)
    assert seen.token == token_a
    assert b.leader()["candidate_id"] == a.candidate_id

    a.close()  # frees the handle: releases the lease
    granted = next_event(b, baton.GRANTED)
    assert granted.token > token_a
    assert b.is_leader() and b.token() == granted.token

    b.resign()
    revoked = next_event(b, baton.REVOKED)
    assert revoked.reason_text == "resigned"
    b.close()
    baton.shutdown()


def test_errors_name_the_setting(redis_url):
    with pytest.raises(baton.BatonError) as err:
        baton.Election(redis_url, "py-bad{name}", ttl_ms=0)
    assert err.value.name == "BATON_INVALID_CONFIG"
    assert "ttl: 0s is out of range" in str(err.value)
    assert "hash tag" in str(err.value)

    # Invalid UTF-8 and NULL straight through the C ABI: error codes, not crashes.
    cfg = c_void_p()
    assert baton._lib.baton_config_new(b"redis://x", b"bad-\xff", byref(cfg)) == 7002
    assert baton._lib.baton_config_new(None, b"job", byref(cfg)) == 7001
    assert not cfg

    # A closed election is a NULL handle to the C side: an error, not a crash.
    e = baton.Election(redis_url, "py-closed", ttl_ms=3000)
    e.close()
    assert not e.is_leader()
    with pytest.raises(baton.BatonError) as err:
        e.resign()
    assert err.value.name == "BATON_NULL_ARGUMENT"


def test_version():
    assert baton.version == "0.1.0"
