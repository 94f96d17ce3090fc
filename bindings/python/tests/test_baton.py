"""The installed package (a wheel in a fresh venv) against a real redis-server."""

import asyncio
import os
import sys
import sysconfig
import threading
import time
from ctypes import byref, c_void_p
from pathlib import Path

import pytest

import baton

WAIT_MS = 30_000


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
    assert b.leader().candidate_id == a.candidate_id

    a.close()  # frees the handle: releases the lease
    granted = next_event(b, baton.GRANTED)
    assert granted.token > token_a
    assert b.is_leader() and b.token() == granted.token

    b.resign()
    revoked = next_event(b, baton.REVOKED)
    assert revoked.reason_text == "resigned"
    b.close()
    baton.shutdown()


def test_renewals_and_subscription_failures_are_counted(redis_url):
    e = baton.Election(redis_url, "py-stats", ttl_ms=300)
    e.wait_for_leadership(timeout_ms=30_000)
    # A renewal every 100ms: no event announces one, so poll, bounded.
    for _ in range(600):
        count, total_ns = e.renewal_stats()
        if count >= 2:
            break
        time.sleep(0.05)
    assert count >= 2 and total_ns > 0
    assert e.subscription_failures() == 0
    e.close()


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


def test_installed_from_the_wheel_with_its_own_library():
    """The tests run against the installed package, not the source tree."""
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert Path(baton.__file__).resolve().is_relative_to(site), baton.__file__
    if "BATON_LIB" not in os.environ:
        assert Path(baton._lib._name).resolve() == site / "baton" / "lib" / "libbaton.so"
    assert (site / "baton" / "py.typed").is_file()


def test_every_setting_is_passed_to_baton(redis_url):
    # Each bad value is named by baton's own check, so each setting reached the C config.
    for settings, wanted in (
        (dict(ttl_ms=3000, renew_interval_ms=5000), ["renew_interval"]),
        (dict(ttl_ms=3000, renew_interval_ms=1000, retry_interval_ms=2000), ["retry_interval"]),
        (dict(connect_timeout_ms=0), ["connect_timeout"]),
        (dict(drift=0.9, key_prefix="{bad}", wait_for_replicas=(17, 100)),
         ["drift", "key_prefix", "wait_for_replicas"]),
    ):
        with pytest.raises(baton.BatonError) as err:
            baton.Election(redis_url, "py-settings", **settings)
        for setting in wanted:
            assert setting in str(err.value), (setting, str(err.value))

    with baton.Election(redis_url, "py-settings", ttl_ms=3000, renew_interval_ms=1000,
                        retry_interval_ms=100, connect_timeout_ms=2000, drift=0.02,
                        key_prefix="py-test:", campaign=True) as e:
        token = e.wait_for_leadership(timeout_ms=WAIT_MS)
        leader = baton.current_leader(redis_url, "py-settings", key_prefix="py-test:")
        assert leader is not None and leader.token == token
        assert leader.candidate_id == e.candidate_id
        # Under the default prefix, nobody leads this election.
        assert baton.current_leader(redis_url, "py-settings") is None


def test_negative_durations_raise_naming_the_parameter(redis_url):
    with pytest.raises(ValueError, match="ttl_ms: -1 is negative"):
        baton.Election(redis_url, "py-negative", ttl_ms=-1)
    with baton.Election(redis_url, "py-negative", ttl_ms=3000) as e:
        with pytest.raises(ValueError, match="timeout_ms: -5 is negative"):
            e.poll_event(timeout_ms=-5)
        e.wait_for_leadership(timeout_ms=WAIT_MS)
        # 0 does not wait.
        with baton.Election(redis_url, "py-negative", ttl_ms=3000) as b:
            with pytest.raises(baton.BatonError) as err:
                b.wait_for_leadership(timeout_ms=0)
            assert err.value.name == "BATON_TIMEOUT"


def test_a_watcher_does_not_campaign(redis_url):
    with baton.Election(redis_url, "py-watch", ttl_ms=3000, campaign=False) as w:
        with pytest.raises(baton.BatonError) as err:
            w.wait_for_leadership(timeout_ms=300)
        assert err.value.name == "BATON_TIMEOUT"
        assert not w.is_leader()


def test_waiting_for_replicas_that_do_not_exist_never_grants(redis_url):
    with baton.Election(redis_url, "py-replicas", ttl_ms=3000,
                        wait_for_replicas=(1, 200)) as e:
        with pytest.raises(baton.BatonError) as err:
            e.wait_for_leadership(timeout_ms=2000)
        assert err.value.name == "BATON_TIMEOUT"


def test_callbacks_run_on_batons_thread_in_order(redis_url):
    seen, granted = [], threading.Event()

    def on_event(event):
        seen.append((event.kind, threading.current_thread() is threading.main_thread()))
        if event.kind == baton.GRANTED:
            granted.set()

    e = baton.Election(redis_url, "py-callback", ttl_ms=3000)
    e.set_callback(on_event)
    assert granted.wait(WAIT_MS / 1000)
    e.close()  # returns once the callback saw the last event
    kinds = [k for k, _ in seen]
    # The current state first, then the grant; the revocation (closed) before close returned.
    assert baton.GRANTED in kinds and baton.REVOKED in kinds
    assert kinds.index(baton.GRANTED) < len(kinds) - 1 - kinds[::-1].index(baton.REVOKED)
    assert not any(on_main for _, on_main in seen)


def test_events_iterate_until_quiet(redis_url):
    with baton.Election(redis_url, "py-iter", ttl_ms=3000) as e:
        e.wait_for_leadership(timeout_ms=WAIT_MS)
        kinds = [ev.kind for ev in e.events(timeout_ms=500)]
        # The first poll subscribes: the current state (leading) comes first.
        assert kinds[0] == baton.GRANTED and baton.LEADER_CHANGED in kinds


def test_asyncio_does_not_block_the_loop(redis_url):
    async def main():
        loop = asyncio.get_running_loop()
        async with baton.Election(redis_url, "py-async", ttl_ms=3000) as a:
            token = await a.wait_for_leadership_async(timeout_ms=WAIT_MS)
            async with baton.Election(redis_url, "py-async", ttl_ms=3000) as b:
                async def close_a():
                    await asyncio.sleep(0.05)
                    await loop.run_in_executor(None, a.close)

                # b can only lead if the loop runs close_a while b waits: a keeps renewing.
                closer = asyncio.create_task(close_a())
                token_b = await b.wait_for_leadership_async(timeout_ms=WAIT_MS)
                await closer
                assert token_b > token
                kinds = []
                async for event in b.events_async(timeout_ms=500):
                    kinds.append(event.kind)
                assert kinds[0] == baton.GRANTED

    asyncio.run(main())


def test_the_package_is_typed():
    assert sys.version_info >= (3, 9)
    assert baton.Election.wait_for_leadership.__annotations__["return"] in (int, "int")
