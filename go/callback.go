package baton

/*
#include <stdint.h>
#include <baton.h>

extern void batonGoCallback(baton_event *event, uintptr_t handle);

// cgo exports cannot take const pointers; this adapts baton's callback type.
static void baton_go_trampoline(const baton_event *event, void *userdata) {
	batonGoCallback((baton_event *)event, (uintptr_t)userdata);
}

static baton_result baton_go_set_callback(baton_election *e, uintptr_t handle) {
	return baton_election_set_callback(e, handle ? baton_go_trampoline : NULL, (void *)handle);
}
*/
import "C"

import "sync"

// callbacks maps the userdata baton passes back to the Go callback it stands for. A plain
// registry rather than cgo.Handle: a callback that closes its own election still receives
// that election's last events after Close released the entry, which must be a no-op.
var callbacks struct {
	sync.Mutex
	next uintptr
	fs   map[uintptr]func(Event)
}

// callbackHandle keeps a Go callback reachable while baton may call it.
type callbackHandle struct{ id uintptr }

func register(f func(Event)) *callbackHandle {
	callbacks.Lock()
	defer callbacks.Unlock()
	if callbacks.fs == nil {
		callbacks.fs = map[uintptr]func(Event){}
	}
	callbacks.next++
	callbacks.fs[callbacks.next] = f
	return &callbackHandle{callbacks.next}
}

func (c *callbackHandle) release() {
	if c != nil {
		callbacks.Lock()
		delete(callbacks.fs, c.id)
		callbacks.Unlock()
	}
}

//export batonGoCallback
func batonGoCallback(event *C.baton_event, handle C.uintptr_t) {
	callbacks.Lock()
	f := callbacks.fs[uintptr(handle)]
	callbacks.Unlock()
	if f != nil {
		f(eventFromC(event))
	}
}

// SetCallback calls f with each event, on a thread of baton's that runs only this election's
// callbacks, one at a time and in order; nil stops the calls. When SetCallback returns, the
// previous callback is not running and will not run again. The first callback receives the
// current state first (Granted if leading, then LeaderChanged). f may call any method,
// Close included.
func (e *Election) SetCallback(f func(Event)) error {
	var next *callbackHandle
	var id C.uintptr_t
	if f != nil {
		next = register(f)
		id = C.uintptr_t(next.id)
	}
	// Not under e.mu: baton waits for a running callback, which may use this Election.
	if err := call(func() C.baton_result { return C.baton_go_set_callback(e.handle(), id) }); err != nil {
		next.release()
		return err
	}
	e.mu.Lock()
	old := e.callback
	e.callback = next
	if e.h == nil { // closed meanwhile: nothing will call it
		e.callback = nil
		old = next
	}
	e.mu.Unlock()
	old.release()
	return nil
}
