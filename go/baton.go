// Package baton is leader election on Redis for Go, through baton's C ABI (cgo).
//
// It links the installed libbaton through pkg-config (`make install PREFIX=...` in baton's
// repository installs the library and baton.pc; set PKG_CONFIG_PATH for a non-standard
// prefix, and make libbaton.so.0 findable at run time, e.g. with ldconfig).
//
//	e, err := baton.New("redis://127.0.0.1:6379", "nightly-report", baton.Options{TTL: 5 * time.Second})
//	if err != nil { ... }
//	defer e.Close() // releases the lease: another instance takes over at once
//	if token, ok := e.Token(); ok { doLeaderWork(token) }
//
// Durations: in Options, zero keeps baton's default and a negative value is an error naming
// the field. Timeouts: 0 does not wait, Forever waits without limit, a negative timeout is an
// error. Everything is rounded up to whole milliseconds.
package baton

/*
#cgo pkg-config: baton
#include <stdlib.h>
#include <baton.h>
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Version is the version of the linked baton library.
var Version = C.GoString(C.baton_version())

// Forever is a timeout without limit.
const Forever = time.Duration(math.MaxInt64)

// Shutdown closes every election of this process, releasing their leases.
func Shutdown() { C.baton_shutdown() }

// Error is a failed baton call: Code is the C baton_result, Message says what to do.
type Error struct {
	Code    uint32
	Name    string
	Message string
}

func (e *Error) Error() string { return e.Name + ": " + e.Message }

// Codes callers may want to tell apart.
const (
	ErrInvalidConfig    = uint32(C.BATON_INVALID_CONFIG)
	ErrStoreUnreachable = uint32(C.BATON_STORE_UNREACHABLE)
	ErrNotLeader        = uint32(C.BATON_NOT_LEADER)
	ErrTimeout          = uint32(C.BATON_TIMEOUT)
	ErrClosed           = uint32(C.BATON_CLOSED)
	ErrInvalidHandle    = uint32(C.BATON_INVALID_HANDLE)
	ErrInvalidArgument  = uint32(C.BATON_INVALID_ARGUMENT)
)

// call runs f, which makes one baton call, and turns a failure into an *Error. The goroutine
// stays on one OS thread meanwhile: baton's last-error message is per thread.
func call(f func() C.baton_result) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	code := uint32(f())
	if code == uint32(C.BATON_OK) {
		return nil
	}
	n := C.baton_last_error(nil, 0)
	buf := make([]byte, n+1)
	C.baton_last_error((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	return &Error{Code: code, Name: resultName(code), Message: string(buf[:n])}
}

func resultName(code uint32) string {
	name, _, _ := strings.Cut(C.GoString(C.baton_result_text(C.uint32_t(code))), ":")
	return name
}

func invalid(code uint32, format string, args ...any) *Error {
	return &Error{Code: code, Name: resultName(code), Message: fmt.Sprintf(format, args...)}
}

// millis rounds d up to whole milliseconds, so that a short positive duration never
// becomes 0 (which means "do not wait" or "out of range").
func millis(d time.Duration) C.uint64_t {
	return C.uint64_t((d + time.Millisecond - 1) / time.Millisecond)
}

// timeoutMillis converts a timeout: 0 does not wait, Forever waits without limit.
func timeoutMillis(param string, d time.Duration) (C.uint64_t, error) {
	switch {
	case d < 0:
		return 0, invalid(ErrInvalidArgument, "%s: %v is negative; pass 0 not to wait, a positive duration, or baton.Forever", param, d)
	case d == Forever:
		return C.BATON_WAIT_FOREVER, nil
	}
	return millis(d), nil
}

// Options are an election's settings. Zero values keep baton's defaults; negative durations
// are refused (an *Error naming the field). All rules are checked together by New.
type Options struct {
	TTL            time.Duration // lease lifetime; default 10s
	RenewInterval  time.Duration // default TTL/3
	RetryInterval  time.Duration // default TTL/20
	ConnectTimeout time.Duration // default 5s
	Drift          float64       // tolerated clock-rate difference, 0 to 0.5; default 0.01
	KeyPrefix      string        // default "baton:"
	WatchOnly      bool          // observe who leads without campaigning
	// WaitForReplicas > 0 waits for that many replicas (1 to 16) to acknowledge each grant,
	// for up to ReplicaTimeout (shorter than RenewInterval). Default: off.
	WaitForReplicas int
	ReplicaTimeout  time.Duration
}

// config builds a C config with opts; the caller frees it with C.baton_config_free.
func config(store, name string, opts Options) (*C.baton_config, error) {
	for field, d := range map[string]time.Duration{"TTL": opts.TTL, "RenewInterval": opts.RenewInterval,
		"RetryInterval": opts.RetryInterval, "ConnectTimeout": opts.ConnectTimeout, "ReplicaTimeout": opts.ReplicaTimeout} {
		if d < 0 {
			return nil, invalid(ErrInvalidConfig, "Options.%s: %v is negative; use a positive duration, or 0 for baton's default", field, d)
		}
	}
	if opts.WaitForReplicas < 0 || opts.WaitForReplicas > math.MaxUint32 {
		return nil, invalid(ErrInvalidConfig, "Options.WaitForReplicas: %d is out of range; use 1 to 16, or 0 for off", opts.WaitForReplicas)
	}
	cStore, cName := C.CString(store), C.CString(name)
	defer C.free(unsafe.Pointer(cStore))
	defer C.free(unsafe.Pointer(cName))
	var cfg *C.baton_config
	if err := call(func() C.baton_result { return C.baton_config_new(cStore, cName, &cfg) }); err != nil {
		return nil, err
	}
	var steps []func() C.baton_result
	set := func(d time.Duration, f func(C.uint64_t) C.baton_result) {
		if d != 0 {
			steps = append(steps, func() C.baton_result { return f(millis(d)) })
		}
	}
	set(opts.TTL, func(v C.uint64_t) C.baton_result { return C.baton_config_set_ttl_ms(cfg, v) })
	set(opts.RenewInterval, func(v C.uint64_t) C.baton_result { return C.baton_config_set_renew_interval_ms(cfg, v) })
	set(opts.RetryInterval, func(v C.uint64_t) C.baton_result { return C.baton_config_set_retry_interval_ms(cfg, v) })
	set(opts.ConnectTimeout, func(v C.uint64_t) C.baton_result { return C.baton_config_set_connect_timeout_ms(cfg, v) })
	if opts.Drift != 0 {
		steps = append(steps, func() C.baton_result { return C.baton_config_set_drift(cfg, C.double(opts.Drift)) })
	}
	if opts.KeyPrefix != "" {
		prefix := C.CString(opts.KeyPrefix)
		defer C.free(unsafe.Pointer(prefix))
		steps = append(steps, func() C.baton_result { return C.baton_config_set_key_prefix(cfg, prefix) })
	}
	if opts.WatchOnly {
		steps = append(steps, func() C.baton_result { return C.baton_config_set_campaign(cfg, false) })
	}
	if opts.WaitForReplicas > 0 {
		steps = append(steps, func() C.baton_result {
			return C.baton_config_set_wait_for_replicas(cfg, C.uint32_t(opts.WaitForReplicas), millis(opts.ReplicaTimeout))
		})
	}
	for _, step := range steps {
		if err := call(step); err != nil {
			C.baton_config_free(cfg)
			return nil, err
		}
	}
	return cfg, nil
}

// Election is one instance's candidacy in one named election. Its methods may be called from
// any goroutine. Close it to release the lease; an Election that becomes unreachable without
// Close is closed by a finalizer, eventually (its lease held until then).
type Election struct {
	mu       sync.Mutex
	h        *C.baton_election // nil once closed: baton then reports a NULL handle
	callback *callbackHandle
}

func (e *Election) handle() *C.baton_election {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.h
}

// New validates the settings (every broken rule is reported at once), connects to the store
// and starts campaigning (or watching, with WatchOnly).
func New(store, name string, opts Options) (*Election, error) {
	cfg, err := config(store, name, opts)
	if err != nil {
		return nil, err
	}
	defer C.baton_config_free(cfg)
	var h *C.baton_election
	if err := call(func() C.baton_result { return C.baton_election_new(cfg, &h) }); err != nil {
		return nil, err
	}
	e := &Election{h: h}
	runtime.SetFinalizer(e, (*Election).Close)
	return e, nil
}

// Close releases the lease if held (waking the other candidates at once) and frees the
// election; a callback has received its last event when Close returns. Further calls return
// an error; Close itself may be called again.
func (e *Election) Close() {
	e.mu.Lock()
	h, cb := e.h, e.callback
	e.h, e.callback = nil, nil
	e.mu.Unlock()
	if h != nil {
		C.baton_election_free(h)
	}
	cb.release()
	runtime.SetFinalizer(e, nil)
}

// IsLeader says whether this instance leads right now; no store round trip.
func (e *Election) IsLeader() bool { return bool(C.baton_election_is_leader(e.handle())) }

// Token returns the fencing token while leading.
func (e *Election) Token() (uint64, bool) {
	var token C.uint64_t
	ok := C.baton_election_token(e.handle(), &token) == C.BATON_OK
	return uint64(token), ok
}

// RenewalStats returns this instance's successful lease renewals so far and the sum of their
// round trips; both only grow (a latency metric divides two readings' differences).
func (e *Election) RenewalStats() (count uint64, total time.Duration, err error) {
	var n, ns C.uint64_t
	err = call(func() C.baton_result { return C.baton_election_renewal_stats(e.handle(), &n, &ns) })
	return uint64(n), time.Duration(ns), err
}

// SubscriptionFailures returns how often subscribing to release notifications failed; while
// it fails, a graceful handover reaches this instance only at the lease's expiry.
func (e *Election) SubscriptionFailures() (uint64, error) {
	var n C.uint64_t
	err := call(func() C.baton_result { return C.baton_election_subscription_failures(e.handle(), &n) })
	return uint64(n), err
}

// WaitForLeadership blocks until this instance leads, and returns its fencing token; an
// *Error with Code ErrTimeout if it did not lead within timeout (0: do not wait; Forever).
func (e *Election) WaitForLeadership(timeout time.Duration) (uint64, error) {
	ms, err := timeoutMillis("timeout", timeout)
	if err != nil {
		return 0, err
	}
	var token C.uint64_t
	err = call(func() C.baton_result {
		return C.baton_election_wait_for_leadership(e.handle(), ms, &token)
	})
	return uint64(token), err
}

// Resign gives up leadership now; this instance sits out one TTL before competing again.
func (e *Election) Resign() error {
	return call(func() C.baton_result { return C.baton_election_resign(e.handle()) })
}

// EventKind says what happened.
type EventKind uint32

// The kinds of events.
const (
	Granted       = EventKind(C.BATON_EVENT_GRANTED)
	Revoked       = EventKind(C.BATON_EVENT_REVOKED)
	LeaderChanged = EventKind(C.BATON_EVENT_LEADER_CHANGED)
)

// Event is one change of leadership. Token is this instance's token for Granted/Revoked and
// the leader's for LeaderChanged (0 when nobody leads).
type Event struct {
	Kind      EventKind
	Token     uint64
	Reason    string // Revoked only: "resigned", "closed", "lease_lost", ...
	HasLeader bool
	LeaderPid uint32
}

func eventFromC(c *C.baton_event) Event {
	return Event{
		Kind:      EventKind(c.kind),
		Token:     uint64(c.token),
		Reason:    C.GoString(C.baton_revoke_reason_text(C.uint32_t(c.reason))),
		HasLeader: bool(c.has_leader),
		LeaderPid: uint32(c.leader_pid),
	}
}

// PollEvent waits up to timeout (0: do not wait; Forever) for the next event; ok is false if
// none arrived. The first call subscribes: its first events describe the current state.
func (e *Election) PollEvent(timeout time.Duration) (ev Event, ok bool, err error) {
	ms, err := timeoutMillis("timeout", timeout)
	if err != nil {
		return Event{}, false, err
	}
	var c C.baton_event
	c.struct_size = C.uint32_t(unsafe.Sizeof(c))
	err = call(func() C.baton_result {
		return C.baton_election_poll_event(e.handle(), ms, &c)
	})
	if be, isBaton := err.(*Error); isBaton && be.Code == ErrTimeout {
		return Event{}, false, nil
	}
	if err != nil {
		return Event{}, false, err
	}
	return eventFromC(&c), true, nil
}

// Leader describes who leads.
type Leader struct {
	CandidateID    string
	Host           string
	Pid            uint32
	Token          uint64
	Since          time.Time
	LeaseRemaining time.Duration
}

func takeLeader(l *C.baton_leader) *Leader {
	if l == nil {
		return nil
	}
	defer C.baton_leader_free(l)
	return &Leader{
		CandidateID:    C.GoString(l.candidate_id),
		Host:           C.GoString(l.host),
		Pid:            uint32(l.pid),
		Token:          uint64(l.token),
		Since:          time.UnixMilli(int64(l.since_unix_ms)),
		LeaseRemaining: time.Duration(l.lease_remaining_ms) * time.Millisecond,
	}
}

// Leader returns who leads as last seen (this instance included), or nil.
func (e *Election) Leader() (*Leader, error) {
	var l *C.baton_leader
	if err := call(func() C.baton_result { return C.baton_election_leader(e.handle(), &l) }); err != nil {
		return nil, err
	}
	return takeLeader(l), nil
}

// CurrentLeader reads who leads the election name straight from the store (one round trip,
// no campaign), or nil when nobody leads. Of opts, KeyPrefix and ConnectTimeout matter.
func CurrentLeader(store, name string, opts Options) (*Leader, error) {
	cfg, err := config(store, name, opts)
	if err != nil {
		return nil, err
	}
	defer C.baton_config_free(cfg)
	var l *C.baton_leader
	if err := call(func() C.baton_result { return C.baton_current_leader(cfg, &l) }); err != nil {
		return nil, err
	}
	return takeLeader(l), nil
}

// CandidateID is this instance's id (host:pid:nonce).
func (e *Election) CandidateID() string {
	h := e.handle()
	n := C.baton_election_candidate_id(h, nil, 0)
	buf := make([]byte, n+1)
	C.baton_election_candidate_id(h, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	return string(buf[:n])
}

func (e *Election) String() string { return fmt.Sprintf("baton.Election(%s)", e.CandidateID()) }
