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
