"""baton from Python, through its C ABI (ctypes; no compiler needed).

    from baton import Election
    with Election("redis://127.0.0.1:6379", "nightly-report", ttl_ms=5000) as election:
        token = election.wait_for_leadership(timeout_ms=30_000)
        ...

The shared library is found through the BATON_LIB environment variable, else in the
repository's target/release directory.
"""

import ctypes
import os
from ctypes import POINTER, byref, c_bool, c_char_p, c_double, c_size_t, c_uint32, c_uint64, c_void_p
from pathlib import Path

WAIT_FOREVER = 2**64 - 1

OK = 0
NOT_LEADER = 7008
TIMEOUT = 7009
CLOSED = 7007

GRANTED, REVOKED, LEADER_CHANGED = 1, 2, 3


def _load():
    default = Path(__file__).resolve().parents[2] / "target" / "release" / "libbaton.so"
    return ctypes.CDLL(os.environ.get("BATON_LIB", str(default)))


_lib = _load()


class Event(ctypes.Structure):
    """One change of leadership (the C baton_event)."""

    _fields_ = [
        ("kind", c_uint32),
        ("reason", c_uint32),
        ("token", c_uint64),
        ("leader_pid", c_uint32),
        ("has_leader", c_bool),
    ]

    @property
    def reason_text(self):
        return _lib.baton_revoke_reason_text(self.reason).decode()

    def __repr__(self):
        kind = {GRANTED: "granted", REVOKED: "revoked", LEADER_CHANGED: "leader_changed"}
        return f"Event({kind.get(self.kind, self.kind)}, token={self.token}, reason={self.reason_text})"


class _Leader(ctypes.Structure):
    _fields_ = [
        ("candidate_id", c_char_p),
        ("host", c_char_p),
        ("pid", c_uint32),
        ("token", c_uint64),
        ("since_unix_ms", c_uint64),
        ("lease_remaining_ms", c_uint64),
    ]


def _declare(name, restype, *argtypes):
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
_declare("baton_election_new", c_uint32, c_void_p, POINTER(c_void_p))
_declare("baton_election_free", None, c_void_p)
_declare("baton_election_is_leader", c_bool, c_void_p)
_declare("baton_election_token", c_uint32, c_void_p, POINTER(c_uint64))
_declare("baton_election_resign", c_uint32, c_void_p)
_declare("baton_election_poll_event", c_uint32, c_void_p, c_uint64, POINTER(Event))
_declare("baton_election_wait_for_leadership", c_uint32, c_void_p, c_uint64, POINTER(c_uint64))
_declare("baton_election_leader", c_uint32, c_void_p, POINTER(POINTER(_Leader)))
_declare("baton_election_candidate_id", c_size_t, c_void_p, c_char_p, c_size_t)
_declare("baton_leader_free", None, POINTER(_Leader))

version = _lib.baton_version().decode()


def shutdown():
    """Closes every election of this process, releasing their leases."""
    _lib.baton_shutdown()


class BatonError(Exception):
    """A baton call failed; `code` is the baton_result, the message says what to do."""

    def __init__(self, code):
        n = _lib.baton_last_error(None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        _lib.baton_last_error(buf, n + 1)
        self.code = code
        self.name = _lib.baton_result_text(code).decode().split(":")[0]
        super().__init__(f"{self.name}: {buf.value.decode(errors='replace')}")


def _check(code):
    if code != OK:
        raise BatonError(code)


class Election:
    """A candidacy in one named election; closing it (or leaving `with`) releases the lease."""

    def __init__(self, store, name, *, ttl_ms=None, renew_interval_ms=None,
                 retry_interval_ms=None, connect_timeout_ms=None, drift=None,
                 key_prefix=None, campaign=None):
        self._handle = None
        cfg = c_void_p()
        _check(_lib.baton_config_new(store.encode(), name.encode(), byref(cfg)))
        try:
            for setting, value in (("ttl", ttl_ms), ("renew_interval", renew_interval_ms),
                                   ("retry_interval", retry_interval_ms),
                                   ("connect_timeout", connect_timeout_ms)):
                if value is not None:
                    _check(getattr(_lib, f"baton_config_set_{setting}_ms")(cfg, value))
            if drift is not None:
                _check(_lib.baton_config_set_drift(cfg, drift))
            if key_prefix is not None:
                _check(_lib.baton_config_set_key_prefix(cfg, key_prefix.encode()))
            if campaign is not None:
                _check(_lib.baton_config_set_campaign(cfg, campaign))
            handle = c_void_p()
            _check(_lib.baton_election_new(cfg, byref(handle)))
        finally:
            _lib.baton_config_free(cfg)
        self._handle = handle

    def close(self):
        """Releases the lease (another instance takes over at once) and frees the handle."""
        handle, self._handle = self._handle, None
        if handle:
            _lib.baton_election_free(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def is_leader(self):
        """Whether this instance leads right now (no store round trip)."""
        return _lib.baton_election_is_leader(self._handle)

    def token(self):
        """The fencing token while leading, else None."""
        token = c_uint64()
        code = _lib.baton_election_token(self._handle, byref(token))
        if code == NOT_LEADER:
            return None
        _check(code)
        return token.value

    def wait_for_leadership(self, timeout_ms=WAIT_FOREVER):
        """Blocks until this instance leads; returns its fencing token."""
        token = c_uint64()
        _check(_lib.baton_election_wait_for_leadership(self._handle, timeout_ms, byref(token)))
        return token.value

    def poll_event(self, timeout_ms=WAIT_FOREVER):
        """The next event, or None if none arrived within the timeout."""
        event = Event()
        code = _lib.baton_election_poll_event(self._handle, timeout_ms, byref(event))
        if code == TIMEOUT:
            return None
        _check(code)
        return event

    def resign(self):
        """Gives up leadership now; this instance sits out one ttl."""
        _check(_lib.baton_election_resign(self._handle))

    def leader(self):
        """Who leads as last seen (a dict), or None."""
        ptr = POINTER(_Leader)()
        _check(_lib.baton_election_leader(self._handle, byref(ptr)))
        if not ptr:
            return None
        try:
            l = ptr.contents
            return {"candidate_id": l.candidate_id.decode(), "host": l.host.decode(),
                    "pid": l.pid, "token": l.token, "since_unix_ms": l.since_unix_ms,
                    "lease_remaining_ms": l.lease_remaining_ms}
        finally:
            _lib.baton_leader_free(ptr)

    @property
    def candidate_id(self):
        n = _lib.baton_election_candidate_id(self._handle, None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        _lib.baton_election_candidate_id(self._handle, buf, n + 1)
        return buf.value.decode()
