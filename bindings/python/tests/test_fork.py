"""fork() after an election was created (multiprocessing, gunicorn --preload, prefork daemons):
the child never believes its parent's leadership, every call on the inherited election fails
with an error naming fork, closing it in the child leaves the parent's lease alone, and a new
election created in the child works."""

import json
import os
import select
import time

import baton


def _in_child(election, url):
    report = {"is_leader": election.is_leader(), "token": election.token()}
    for call in ("resign", "wait_for_leadership"):
        try:
            getattr(election, call)(*([] if call == "resign" else [100]))
            report[call] = "ok"
        except baton.BatonError as err:
            report[call] = str(err)
    election.close()  # must not release the parent's lease
    own = baton.Election(url, "forked-child", ttl_ms=2000)
    report["child_token"] = own.wait_for_leadership(10_000)
    own.close()
    return report


def test_a_forked_child_never_believes_its_parents_leadership(redis_url):
    parent = baton.Election(redis_url, "forked", ttl_ms=2000)
    token = parent.wait_for_leadership(10_000)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 1
        try:
            os.write(w, json.dumps(_in_child(parent, redis_url)).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    # A child that hangs (no runtime thread behind the inherited election) fails the test.
    ready, _, _ = select.select([r], [], [], 30)
    data = os.read(r, 65536) if ready else b""
    os.close(r)
    if not data:
        os.kill(pid, 9)
    os.waitpid(pid, 0)
    assert data, "the child hung or died"
    report = json.loads(data)
    assert report["is_leader"] is False and report["token"] is None, report
    assert "BATON_FORKED" in report["resign"] and "fork" in report["resign"], report
    assert "BATON_FORKED" in report["wait_for_leadership"], report
    assert report["child_token"] > 0
    # The parent still leads under the same grant: the child's close released nothing.
    time.sleep(0.1)
    assert parent.is_leader() and parent.token() == token
    parent.close()


def test_a_child_forked_while_a_callback_runs_closes_the_inherited_election(redis_url):
    """The callback thread is the parent's: in the child, nothing may wait for it."""
    import threading

    inside, release = threading.Event(), threading.Event()

    def callback(_event):
        inside.set()
        release.wait(10)

    parent = baton.Election(redis_url, "forked-callback", ttl_ms=2000)
    parent.set_callback(callback)
    assert inside.wait(10), "the callback never ran"
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 1
        try:
            report = {}
            try:
                parent.set_callback(None)
                report["set_callback"] = "ok"
            except baton.BatonError as err:
                report["set_callback"] = str(err)
            parent.close()
            report["closed"] = True
            os.write(w, json.dumps(report).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    ready, _, _ = select.select([r], [], [], 15)
    data = os.read(r, 65536) if ready else b""
    os.close(r)
    if not data:
        os.kill(pid, 9)
    os.waitpid(pid, 0)
    release.set()
    assert data, "the child hung closing an election whose callback ran at the fork"
    report = json.loads(data)
    assert "BATON_FORKED" in report["set_callback"], report
    assert report["closed"] is True
    parent.close()


def test_a_child_forked_while_other_threads_use_baton_does_not_deadlock(redis_url):
    """Another thread holding one of baton's process-wide locks at the fork must not leave it
    locked in the child."""
    import threading

    stop = threading.Event()

    def churn():
        while not stop.is_set():
            baton.current_leader(redis_url, "forked-churn")

    threads = [threading.Thread(target=churn, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for _ in range(20):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                code = 1
                try:
                    own = baton.Election(redis_url, "forked-churn-child", ttl_ms=2000)
                    own.close()
                    os.write(w, b"ok")
                    code = 0
                finally:
                    os._exit(code)
            os.close(w)
            ready, _, _ = select.select([r], [], [], 15)
            data = os.read(r, 16) if ready else b""
            os.close(r)
            if not data:
                os.kill(pid, 9)
            os.waitpid(pid, 0)
            assert data == b"ok", "a child forked while other threads used baton hung"
    finally:
        stop.set()
        for t in threads:
            t.join(10)
