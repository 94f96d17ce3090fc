"""baton: leader election on Redis, through baton's C ABI (ctypes; no compiler needed).

    import baton
    with baton.Election("redis://127.0.0.1:6379", "nightly-report", ttl_ms=5000) as election:
        token = election.wait_for_leadership()
        ...  # leader-only work; pass `token` to the resource you write to

The native library comes with the wheel; ``BATON_LIB=/path/to/libbaton.so`` overrides it, and
without either a system-wide install (``make install``) is used.

Durations are milliseconds (``int``), as in the C API. A timeout of ``None`` waits without
limit, ``0`` does not wait; negative values raise ``ValueError`` naming the parameter.
Every method may be called from any thread. Blocking calls release the GIL; the ``*_async``
variants run them in a worker thread so that an ``asyncio`` loop is never blocked.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
from ctypes import POINTER, byref, c_bool, c_char_p, c_double, c_size_t, c_uint32, c_uint64, c_void_p
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import AsyncIterator, Callable, Iterator, Optional, Tuple

__all__ = [
    "BatonError", "Election", "Event", "EventKind", "Leader", "current_leader", "shutdown",
    "version", "GRANTED", "REVOKED", "LEADER_CHANGED",
]

_WAIT_FOREVER = 2**64 - 1
_OK, _NOT_LEADER, _TIMEOUT = 0, 7008, 7009


def _find_library() -> str:
    override = os.environ.get("BATON_LIB")
    if override:
        return override
    bundled = Path(__file__).resolve().parent / "lib" / "libbaton.so"
    if bundled.is_file():
        return str(bundled)
    system = ctypes.util.find_library("baton")
    if system:
        return system
    raise ImportError(
        "baton's native library was not found: this installation has no baton/lib/libbaton.so"
        " and no system-wide libbaton (make install). Install a baton wheel for this platform,"
        " or set BATON_LIB=/path/to/libbaton.so")


_lib = ctypes.CDLL(_find_library())


class EventKind(IntEnum):
    """What happened (the C ``baton_event_kind``)."""

    GRANTED = 1
    REVOKED = 2
    LEADER_CHANGED = 3


GRANTED, REVOKED, LEADER_CHANGED = EventKind.GRANTED, EventKind.REVOKED, EventKind.LEADER_CHANGED


class _CEvent(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("kind", c_uint32),
        ("reason", c_uint32),
        ("token", c_uint64),
        ("leader_pid", c_uint32),
        ("has_leader", c_bool),
    ]


class _CLeader(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("candidate_id", c_char_p),
        ("host", c_char_p),
        ("pid", c_uint32),
        ("token", c_uint64),
        ("since_unix_ms", c_uint64),
        ("lease_remaining_ms", c_uint64),
    ]


_CALLBACK = ctypes.CFUNCTYPE(None, POINTER(_CEvent), c_void_p)


def _declare(name: str, restype, *argtypes) -> None:
    f = getattr(_lib, name)
    f.restype, f.argtypes = restype, list(argtypes)


_declare("baton_version", c_char_p)
_declare("baton_result_text", c_char_p, c_uint32)
_declare("baton_revoke_reason_text", c_char_p, c_uint32)
_declare("baton_last_error", c_size_t, c_char_p, c_size_t)
_declare("baton_shutdown", None)
_declare("baton_config_new", c_uint32, c_char_p, c_char_p, POINTER(c_void_p))
_declare("baton_config_free", None, c_void_p)
for _setting in ("ttl", "renew_interval", "retry_interval", "connect_timeout"):
    _declare(f"baton_config_set_{_setting}_ms", c_uint32, c_void_p, c_uint64)
_declare("baton_config_set_drift", c_uint32, c_void_p, c_double)
_declare("baton_config_set_key_prefix", c_uint32, c_void_p, c_char_p)
_declare("baton_config_set_campaign", c_uint32, c_void_p, c_bool)
_declare("baton_config_set_wait_for_replicas", c_uint32, c_void_p, c_uint32, c_uint64)
_declare("baton_election_new", c_uint32, c_void_p, POINTER(c_void_p))
_declare("baton_election_free", None, c_void_p)
_declare("baton_election_is_leader", c_bool, c_void_p)
_declare("baton_election_token", c_uint32, c_void_p, POINTER(c_uint64))
_declare("baton_election_renewal_stats", c_uint32, c_void_p, POINTER(c_uint64), POINTER(c_uint64))
_declare("baton_election_subscription_failures", c_uint32, c_void_p, POINTER(c_uint64))
_declare("baton_election_resign", c_uint32, c_void_p)
_declare("baton_election_poll_event", c_uint32, c_void_p, c_uint64, POINTER(_CEvent))
_declare("baton_election_wait_for_leadership", c_uint32, c_void_p, c_uint64, POINTER(c_uint64))
_declare("baton_election_set_callback", c_uint32, c_void_p, _CALLBACK, c_void_p)
_declare("baton_election_leader", c_uint32, c_void_p, POINTER(POINTER(_CLeader)))
_declare("baton_current_leader", c_uint32, c_void_p, POINTER(POINTER(_CLeader)))
_declare("baton_election_candidate_id", c_size_t, c_void_p, c_char_p, c_size_t)
_declare("baton_leader_free", None, POINTER(_CLeader))

version: str = _lib.baton_version().decode()
"""The version of the loaded native library."""


def shutdown() -> None:
    """Closes every election of this process, releasing their leases (e.g. at exit)."""
    _lib.baton_shutdown()


class BatonError(Exception):
    """A baton call failed. ``code`` is the C ``baton_result``, ``name`` its name
    (``"BATON_INVALID_CONFIG"``...); the message names the setting at fault and the fix."""

    def __init__(self, code: int) -> None:
        n = _lib.baton_last_error(None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        _lib.baton_last_error(buf, n + 1)
        self.code = code
        self.name = _lib.baton_result_text(code).decode().split(":")[0]
        super().__init__(f"{self.name}: {buf.value.decode(errors='replace')}")


def _check(code: int) -> None:
    if code != _OK:
        raise BatonError(code)


def _millis(param: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{param}: {value!r} is not an int; pass milliseconds, e.g. 5000")
    if value < 0:
        raise ValueError(f"{param}: {value} is negative; pass milliseconds, e.g. 5000")
    return value


def _timeout(param: str, value: Optional[int]) -> int:
    return _WAIT_FOREVER if value is None else _millis(param, value)


@dataclass(frozen=True)
class Event:
    """One change of leadership. ``token``: this instance's for GRANTED/REVOKED, the leader's
    for LEADER_CHANGED (0 when nobody leads). ``reason`` (REVOKED only): ``"resigned"``,
    ``"closed"``, ``"lease_lost"``, ``"lease_expired"`` or ``"store_unreachable"``."""

    kind: EventKind
    token: int
    reason: str
    has_leader: bool
    leader_pid: int

    @property
    def reason_text(self) -> str:
        return self.reason

    @classmethod
    def _from_c(cls, c: _CEvent) -> "Event":
        return cls(EventKind(c.kind), c.token, _lib.baton_revoke_reason_text(c.reason).decode(),
                   bool(c.has_leader), c.leader_pid)


@dataclass(frozen=True)
class Leader:
    """Who leads, as last seen in the store."""

    candidate_id: str
    host: str
    pid: int
    token: int
    since_unix_ms: int
    lease_remaining_ms: int

    def __getitem__(self, key: str):  # leader["token"], as in earlier versions
        return getattr(self, key)


def _take_leader(ptr) -> Optional[Leader]:
    if not ptr:
        return None
    try:
        c = ptr.contents
        return Leader(c.candidate_id.decode(), c.host.decode(), c.pid, c.token,
                      c.since_unix_ms, c.lease_remaining_ms)
    finally:
        _lib.baton_leader_free(ptr)


def _config(store: str, name: str, ttl_ms: Optional[int], renew_interval_ms: Optional[int],
            retry_interval_ms: Optional[int], connect_timeout_ms: Optional[int],
            drift: Optional[float], key_prefix: Optional[str], campaign: Optional[bool],
            wait_for_replicas: Optional[Tuple[int, int]]) -> c_void_p:
    """A C config with these settings (unset ones keep baton's defaults); free it."""
    cfg = c_void_p()
    _check(_lib.baton_config_new(store.encode(), name.encode(), byref(cfg)))
    try:
        for setting, value in (("ttl", ttl_ms), ("renew_interval", renew_interval_ms),
                               ("retry_interval", retry_interval_ms),
                               ("connect_timeout", connect_timeout_ms)):
            if value is not None:
                ms = _millis(f"{setting}_ms", value)
                _check(getattr(_lib, f"baton_config_set_{setting}_ms")(cfg, ms))
        if drift is not None:
            _check(_lib.baton_config_set_drift(cfg, float(drift)))
        if key_prefix is not None:
            _check(_lib.baton_config_set_key_prefix(cfg, key_prefix.encode()))
        if campaign is not None:
            _check(_lib.baton_config_set_campaign(cfg, bool(campaign)))
        if wait_for_replicas is not None:
            count, timeout_ms = wait_for_replicas
            if count < 0:
                raise ValueError(f"wait_for_replicas: count {count} is negative; pass 1 to 16")
            _check(_lib.baton_config_set_wait_for_replicas(
                cfg, count, _millis("wait_for_replicas timeout_ms", timeout_ms)))
    except BaseException:
        _lib.baton_config_free(cfg)
        raise
    return cfg


def current_leader(store: str, name: str, *, connect_timeout_ms: Optional[int] = None,
                   key_prefix: Optional[str] = None) -> Optional[Leader]:
    """Who leads ``name`` right now, read from the store (one round trip, no campaign)."""
    cfg = _config(store, name, None, None, None, connect_timeout_ms, None, key_prefix, None, None)
    try:
        ptr = POINTER(_CLeader)()
        _check(_lib.baton_current_leader(cfg, byref(ptr)))
        return _take_leader(ptr)
    finally:
        _lib.baton_config_free(cfg)


class Election:
    """One instance's candidacy in the election ``name`` on ``store``.

    Settings (baton's defaults when omitted; all checked at once, errors name every bad one):
    ``ttl_ms`` (10000), ``renew_interval_ms`` (ttl/3), ``retry_interval_ms`` (ttl/20),
    ``connect_timeout_ms`` (5000), ``drift`` (0.01), ``key_prefix`` ("baton:"), ``campaign``
    (True; False only watches), ``wait_for_replicas`` ((count, timeout_ms); off).

    Closing it (``close()``, leaving ``with``/``async with``) releases the lease so another
    instance takes over at once.
    """

    def __init__(self, store: str, name: str, *, ttl_ms: Optional[int] = None,
                 renew_interval_ms: Optional[int] = None, retry_interval_ms: Optional[int] = None,
                 connect_timeout_ms: Optional[int] = None, drift: Optional[float] = None,
                 key_prefix: Optional[str] = None, campaign: Optional[bool] = None,
                 wait_for_replicas: Optional[Tuple[int, int]] = None) -> None:
        self._handle: Optional[int] = None
        self._callback = None  # the ctypes thunk, kept alive while baton may call it
        cfg = _config(store, name, ttl_ms, renew_interval_ms, retry_interval_ms,
                      connect_timeout_ms, drift, key_prefix, campaign, wait_for_replicas)
        try:
            handle = c_void_p()
            _check(_lib.baton_election_new(cfg, byref(handle)))
        finally:
            _lib.baton_config_free(cfg)
        self._handle = handle.value

    def close(self) -> None:
        """Releases the lease (another instance takes over at once) and frees the handle.
        Blocks until the store confirmed; a callback has received its last event on return."""
        handle, self._handle = self._handle, None
        if handle:
            _lib.baton_election_free(handle)
        self._callback = None

    def __enter__(self) -> "Election":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    async def __aenter__(self) -> "Election":
        return self

    async def __aexit__(self, *exc) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def __del__(self) -> None:
        # Interpreter teardown may have unloaded ctypes already; the lease then expires.
        try:
            self.close()
        except Exception:
            pass

    def is_leader(self) -> bool:
        """Whether this instance leads right now (no store round trip: call it often)."""
        return bool(_lib.baton_election_is_leader(self._handle))

    def token(self) -> Optional[int]:
        """The fencing token while leading, else None."""
        token = c_uint64()
        code = _lib.baton_election_token(self._handle, byref(token))
        if code == _NOT_LEADER:
            return None
        _check(code)
        return token.value

    def renewal_stats(self) -> Tuple[int, int]:
        """This instance's successful lease renewals so far and the sum of their round trips
        in nanoseconds; both only grow (a latency metric divides two readings' differences)."""
        count, total_ns = c_uint64(), c_uint64()
        _check(_lib.baton_election_renewal_stats(self._handle, byref(count), byref(total_ns)))
        return count.value, total_ns.value

    def subscription_failures(self) -> int:
        """How often subscribing to release notifications failed; while it fails, a graceful
        handover reaches this instance only at the lease's expiry: alert on growth."""
        count = c_uint64()
        _check(_lib.baton_election_subscription_failures(self._handle, byref(count)))
        return count.value

    def wait_for_leadership(self, timeout_ms: Optional[int] = None) -> int:
        """Blocks until this instance leads and returns its fencing token; raises BatonError
        ``BATON_TIMEOUT`` if it did not lead within ``timeout_ms``."""
        token = c_uint64()
        ms = _timeout("timeout_ms", timeout_ms)
        _check(_lib.baton_election_wait_for_leadership(self._handle, ms, byref(token)))
        return token.value

    async def wait_for_leadership_async(self, timeout_ms: Optional[int] = None) -> int:
        """``wait_for_leadership`` without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(
            None, self.wait_for_leadership, timeout_ms)

    def poll_event(self, timeout_ms: Optional[int] = None) -> Optional[Event]:
        """The next event, or None if none arrived within ``timeout_ms``. The first call
        subscribes; its first events describe the current state."""
        event = _CEvent(struct_size=ctypes.sizeof(_CEvent))
        code = _lib.baton_election_poll_event(self._handle, _timeout("timeout_ms", timeout_ms),
                                              byref(event))
        if code == _TIMEOUT:
            return None
        _check(code)
        return Event._from_c(event)

    def events(self, timeout_ms: Optional[int] = None) -> Iterator[Event]:
        """Iterates over events as they come; stops when none came within ``timeout_ms``
        or the election was closed (``shutdown()``)."""
        while True:
            try:
                event = self.poll_event(timeout_ms)
            except BatonError as e:
                if e.name == "BATON_CLOSED":
                    return
                raise
            if event is None:
                return
            yield event

    async def events_async(self, timeout_ms: Optional[int] = None) -> AsyncIterator[Event]:
        """``events`` for ``async for``; the waiting happens in worker threads, in slices short
        enough that cancelling the task takes effect promptly."""
        loop = asyncio.get_running_loop()
        waited = 0
        while timeout_ms is None or waited <= timeout_ms:
            slice_ms = 200 if timeout_ms is None else max(0, min(200, timeout_ms - waited))
            try:
                event = await loop.run_in_executor(None, self.poll_event, slice_ms)
            except BatonError as e:
                if e.name == "BATON_CLOSED":
                    return
                raise
            if event is not None:
                waited = 0
                yield event
            else:
                waited += slice_ms
                if timeout_ms is not None and waited >= timeout_ms:
                    return

    def set_callback(self, callback: Optional[Callable[[Event], None]]) -> None:
        """Calls ``callback(event)`` with each event, on a thread of baton's that runs only this
        election's callbacks, in order. ``None`` stops the calls; when this returns, the previous
        callback is not running and will not run again. Exceptions raised by the callback are
        printed and ignored. The first callback receives the current state first."""
        if callback is None:
            _check(_lib.baton_election_set_callback(self._handle, _CALLBACK(), None))
            self._callback = None
            return

        def thunk(event, _userdata):
            callback(Event._from_c(event.contents))

        c_callback = _CALLBACK(thunk)
        _check(_lib.baton_election_set_callback(self._handle, c_callback, None))
        self._callback = c_callback

    def resign(self) -> None:
        """Gives up leadership now; this instance sits out one ttl before competing again."""
        _check(_lib.baton_election_resign(self._handle))

    def leader(self) -> Optional[Leader]:
        """Who leads as this instance last saw it (itself included), or None."""
        ptr = POINTER(_CLeader)()
        _check(_lib.baton_election_leader(self._handle, byref(ptr)))
        return _take_leader(ptr)

    @property
    def candidate_id(self) -> str:
        """This instance's id (``host:pid:nonce``), as in ``Leader.candidate_id``."""
        n = _lib.baton_election_candidate_id(self._handle, None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        _lib.baton_election_candidate_id(self._handle, buf, n + 1)
        return buf.value.decode()
