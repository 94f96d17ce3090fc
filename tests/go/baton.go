// Package baton is leader election on Redis for Go, through baton's C ABI (cgo).
//
// It links target/release/libbaton.so of this repository (run `cargo build --release`).
//
//	e, err := baton.New("redis://127.0.0.1:6379", "nightly-report", baton.Options{TTL: 5 * time.Second})
//	if err != nil { ... }
//	defer e.Close() // releases the lease: another instance takes over at once
//	if token, ok := e.Token(); ok { doLeaderWork(token) }
package baton

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -lbaton -Wl,-rpath,${SRCDIR}/../../target/release
#include <stdlib.h>
#include <baton.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// Version is the version of the linked baton library.
var Version = C.GoString(C.baton_version())

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
	name, _, _ := strings.Cut(C.GoString(C.baton_result_text(C.uint32_t(code))), ":")
	return &Error{Code: code, Name: name, Message: string(buf[:n])}
}

// Options are an election's settings; zero values keep baton's defaults.
type Options struct {
	TTL            time.Duration // lease lifetime; default 10s
	RenewInterval  time.Duration // default TTL/3
	RetryInterval  time.Duration // default TTL/20
	ConnectTimeout time.Duration // default 5s
	KeyPrefix      string        // default "baton:"
	WatchOnly      bool          // observe who leads without campaigning
}

// Election is one instance's candidacy in one named election. Its methods may be called from
// any goroutine. Close it to release the lease.
type Election struct {
	mu sync.Mutex
	h  *C.baton_election // nil once closed: baton then reports a NULL handle
}

func (e *Election) handle() *C.baton_election {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.h
}

func cString(s string) *C.char { return C.CString(s) }

// New validates the settings (every broken rule is reported at once), connects to the store
// and starts campaigning.
func New(store, name string, opts Options) (*Election, error) {
	cStore, cName := cString(store), cString(name)
	defer C.free(unsafe.Pointer(cStore))
	defer C.free(unsafe.Pointer(cName))
	var cfg *C.baton_config
	if err := call(func() C.baton_result { return C.baton_config_new(cStore, cName, &cfg) }); err != nil {
		return nil, err
	}
	defer C.baton_config_free(cfg)
	ms := func(d time.Duration) C.uint64_t { return C.uint64_t(d.Milliseconds()) }
	var steps []func() C.baton_result
	if opts.TTL != 0 {
		steps = append(steps, func() C.baton_result { return C.baton_config_set_ttl_ms(cfg, ms(opts.TTL)) })
	}
	if opts.RenewInterval != 0 {
		steps = append(steps, func() C.baton_result { return C.baton_config_set_renew_interval_ms(cfg, ms(opts.RenewInterval)) })
	}
	if opts.RetryInterval != 0 {
		steps = append(steps, func() C.baton_result { return C.baton_config_set_retry_interval_ms(cfg, ms(opts.RetryInterval)) })
	}
	if opts.ConnectTimeout != 0 {
		steps = append(steps, func() C.baton_result { return C.baton_config_set_connect_timeout_ms(cfg, ms(opts.ConnectTimeout)) })
	}
	if opts.KeyPrefix != "" {
		prefix := cString(opts.KeyPrefix)
		defer C.free(unsafe.Pointer(prefix))
		steps = append(steps, func() C.baton_result { return C.baton_config_set_key_prefix(cfg, prefix) })
	}
	if opts.WatchOnly {
		steps = append(steps, func() C.baton_result { return C.baton_config_set_campaign(cfg, false) })
	}
	for _, step := range steps {
		if err := call(step); err != nil {
			return nil, err
		}
	}
	e := &Election{}
	var h *C.baton_election
	if err := call(func() C.baton_result { return C.baton_election_new(cfg, &h) }); err != nil {
		return nil, err
	}
	e.h = h
	return e, nil
}

// Close releases the lease if held (waking the other candidates at once) and frees the
// election. Further calls return an error; Close itself may be called again.
func (e *Election) Close() {
	e.mu.Lock()
	h := e.h
	e.h = nil
	e.mu.Unlock()
	if h != nil {
		C.baton_election_free(h)
	}
}

// IsLeader says whether this instance leads right now; no store round trip.
func (e *Election) IsLeader() bool { return bool(C.baton_election_is_leader(e.handle())) }

// Token returns the fencing token while leading.
func (e *Election) Token() (uint64, bool) {
	var token C.uint64_t
	ok := C.baton_election_token(e.handle(), &token) == C.BATON_OK
	return uint64(token), ok
}

// WaitForLeadership blocks until this instance leads, and returns its fencing token.
func (e *Election) WaitForLeadership(timeout time.Duration) (uint64, error) {
	var token C.uint64_t
	err := call(func() C.baton_result {
		return C.baton_election_wait_for_leadership(e.handle(), C.uint64_t(timeout.Milliseconds()), &token)
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

// PollEvent waits up to timeout for the next event; ok is false if none arrived.
func (e *Election) PollEvent(timeout time.Duration) (ev Event, ok bool, err error) {
	var c C.baton_event
	err = call(func() C.baton_result {
		return C.baton_election_poll_event(e.handle(), C.uint64_t(timeout.Milliseconds()), &c)
	})
	if be, isBaton := err.(*Error); isBaton && be.Code == ErrTimeout {
		return Event{}, false, nil
	}
	if err != nil {
		return Event{}, false, err
	}
	return Event{
		Kind:      EventKind(c.kind),
		Token:     uint64(c.token),
		Reason:    C.GoString(C.baton_revoke_reason_text(C.uint32_t(c.reason))),
		HasLeader: bool(c.has_leader),
		LeaderPid: uint32(c.leader_pid),
	}, true, nil
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

// Leader returns who leads as last seen (this instance included), or nil.
func (e *Election) Leader() (*Leader, error) {
	var l *C.baton_leader
	if err := call(func() C.baton_result { return C.baton_election_leader(e.handle(), &l) }); err != nil {
		return nil, err
	}
	if l == nil {
		return nil, nil
	}
	defer C.baton_leader_free(l)
	return &Leader{
		CandidateID:    C.GoString(l.candidate_id),
		Host:           C.GoString(l.host),
		Pid:            uint32(l.pid),
		Token:          uint64(l.token),
		Since:          time.UnixMilli(int64(l.since_unix_ms)),
		LeaseRemaining: time.Duration(l.lease_remaining_ms) * time.Millisecond,
	}, nil
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
