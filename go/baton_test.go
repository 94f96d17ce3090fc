package baton

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

var redisURL string

// TestMain runs the tests against a fresh redis-server on a free port, always stopped after.
func TestMain(m *testing.M) {
	os.Exit(withRedis(m))
}

func withRedis(m *testing.M) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, _ := os.MkdirTemp("", "baton-go-redis")
	defer os.RemoveAll(dir)
	server := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)
	if err := server.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "starting redis-server:", err)
		return 1
	}
	defer func() { _ = server.Process.Kill(); _ = server.Wait() }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if !ping(addr, 10*time.Second) {
		fmt.Fprintln(os.Stderr, "redis-server did not answer PING")
		return 1
	}
	redisURL = "redis://" + addr
	code := m.Run()
	Shutdown()
	return code
}

// ping waits until the server at addr answers PING (usually a few milliseconds).
func ping(addr string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			fmt.Fprint(c, "PING\r\n")
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "+PONG") {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func next(t *testing.T, e *Election, kind EventKind) Event {
	t.Helper()
	for {
		ev, ok, err := e.PollEvent(30 * time.Second)
		if err != nil || !ok {
			t.Fatalf("waiting for event %d: ok=%v err=%v", kind, ok, err)
		}
		if ev.Kind == kind {
			return ev
		}
	}
}

func TestOneLeaderAndHandoverOnClose(t *testing.T) {
	opts := Options{TTL: 3 * time.Second}
	a, err := New(redisURL, "go-handover", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tokenA, err := a.WaitForLeadership(30 * time.Second)
	if err != nil || tokenA == 0 {
		t.Fatalf("a did not lead: %d %v", tokenA, err)
	}
	if token, ok := a.Token(); !ok || token != tokenA || !a.IsLeader() {
		t.Fatalf("a: token %d %v, leader %v", token, ok, a.IsLeader())
	}

	b, err := New(redisURL, "go-handover", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.IsLeader() {
		t.Fatal("two leaders")
	}
	if _, ok := b.Token(); ok {
		t.Fatal("b has a token while a leads")
	}
	for ev := next(t, b, LeaderChanged); !ev.HasLeader; ev = next(t, b, LeaderChanged) {
	}
	leader, err := b.Leader()
	if err != nil || leader == nil || leader.CandidateID != a.CandidateID() || leader.Token != tokenA {
		t.Fatalf("b sees leader %+v (%v), want %s", leader, err, a.CandidateID())
	}

	a.Close() // releases the lease
	granted := next(t, b, Granted)
	if granted.Token <= tokenA || !b.IsLeader() {
		t.Fatalf("handover: token %d after %d, leader %v", granted.Token, tokenA, b.IsLeader())
	}

	if err := b.Resign(); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, b, Revoked); ev.Reason != "resigned" {
		t.Fatalf("revoked for %q", ev.Reason)
	}

	// A closed election is an error, not a crash.
	if a.IsLeader() {
		t.Fatal("closed election leads")
	}
	var be *Error
	if err := a.Resign(); !errors.As(err, &be) || be.Name != "BATON_NULL_ARGUMENT" {
		t.Fatalf("resign after close: %v", err)
	}
}

func TestRenewalsAndSubscriptionFailuresAreCounted(t *testing.T) {
	e, err := New(redisURL, "go-stats", Options{TTL: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.WaitForLeadership(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	// A renewal every 100ms: no event announces one, so poll, bounded.
	var count uint64
	var total time.Duration
	for i := 0; i < 600 && count < 2; i++ {
		if count, total, err = e.RenewalStats(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if count < 2 || total <= 0 {
		t.Fatalf("renewals: %d in %v", count, total)
	}
	if n, err := e.SubscriptionFailures(); err != nil || n != 0 {
		t.Fatalf("subscription failures: %d %v", n, err)
	}
}

func TestErrorsNameTheSetting(t *testing.T) {
	_, err := New(redisURL, "go-bad{name}", Options{TTL: time.Millisecond})
	var be *Error
	if !errors.As(err, &be) || be.Code != ErrInvalidConfig {
		t.Fatalf("got %v", err)
	}
	for _, want := range []string{"ttl: 1ms is out of range", "hash tag"} {
		if !strings.Contains(be.Message, want) {
			t.Errorf("message %q lacks %q", be.Message, want)
		}
	}
	_, err = New("redis://127.0.0.1:1", "go-unreachable", Options{ConnectTimeout: 2 * time.Second})
	if !errors.As(err, &be) || be.Code != ErrStoreUnreachable {
		t.Fatalf("got %v", err)
	}
}

func TestVersion(t *testing.T) {
	if Version != "0.1.0" {
		t.Fatalf("version %q", Version)
	}
}

func TestEverySettingReachesBaton(t *testing.T) {
	// Each bad value is named by baton's own check, so each setting reached the C config.
	for _, c := range []struct {
		opts Options
		want []string
	}{
		{Options{TTL: 3 * time.Second, RenewInterval: 5 * time.Second}, []string{"renew_interval"}},
		{Options{TTL: 3 * time.Second, RenewInterval: time.Second, RetryInterval: 2 * time.Second}, []string{"retry_interval"}},
		{Options{Drift: 0.9, KeyPrefix: "{bad}", WaitForReplicas: 17, ReplicaTimeout: 100 * time.Millisecond},
			[]string{"drift", "key_prefix", "wait_for_replicas"}},
	} {
		_, err := New(redisURL, "go-settings", c.opts)
		var be *Error
		if !errors.As(err, &be) || be.Code != ErrInvalidConfig {
			t.Fatalf("%+v: got %v", c.opts, err)
		}
		for _, want := range c.want {
			if !strings.Contains(be.Message, want) {
				t.Errorf("message %q lacks %q", be.Message, want)
			}
		}
	}

	e, err := New(redisURL, "go-settings", Options{TTL: 3 * time.Second, RenewInterval: time.Second,
		RetryInterval: 100 * time.Millisecond, ConnectTimeout: 2 * time.Second, Drift: 0.02, KeyPrefix: "go-test:"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	token, err := e.WaitForLeadership(Forever)
	if err != nil {
		t.Fatal(err)
	}
	l, err := CurrentLeader(redisURL, "go-settings", Options{KeyPrefix: "go-test:"})
	if err != nil || l == nil || l.Token != token || l.CandidateID != e.CandidateID() {
		t.Fatalf("current leader %+v %v, want token %d", l, err, token)
	}
	if l, err := CurrentLeader(redisURL, "go-settings", Options{}); err != nil || l != nil {
		t.Fatalf("under the default prefix: %+v %v", l, err)
	}
}

func TestDurations(t *testing.T) {
	var be *Error
	if _, err := New(redisURL, "go-durations", Options{TTL: -time.Second}); !errors.As(err, &be) ||
		be.Code != ErrInvalidConfig || !strings.Contains(be.Message, "Options.TTL: -1s is negative") {
		t.Fatalf("negative TTL: %v", err)
	}
	e, err := New(redisURL, "go-durations", Options{TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := e.WaitForLeadership(-time.Second); !errors.As(err, &be) || be.Code != ErrInvalidArgument {
		t.Fatalf("negative timeout: %v", err)
	}
	if _, _, err := e.PollEvent(-1); !errors.As(err, &be) || be.Code != ErrInvalidArgument {
		t.Fatalf("negative poll timeout: %v", err)
	}
	if _, err := e.WaitForLeadership(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	w, err := New(redisURL, "go-durations", Options{TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// 0 does not wait; a microsecond is rounded up to a millisecond, not to "do not wait".
	for _, d := range []time.Duration{0, time.Microsecond} {
		start := time.Now()
		if _, err := w.WaitForLeadership(d); !errors.As(err, &be) || be.Code != ErrTimeout {
			t.Fatalf("timeout %v: %v", d, err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("timeout %v waited %v", d, time.Since(start))
		}
	}
}

func TestWaitingForMissingReplicasNeverGrants(t *testing.T) {
	e, err := New(redisURL, "go-replicas", Options{TTL: 3 * time.Second, WaitForReplicas: 1,
		ReplicaTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var be *Error
	if _, err := e.WaitForLeadership(2 * time.Second); !errors.As(err, &be) || be.Code != ErrTimeout {
		t.Fatalf("granted without a replica: %v", err)
	}
}

func TestCallbacks(t *testing.T) {
	e, err := New(redisURL, "go-callback", Options{TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var kinds []EventKind
	grant := make(chan struct{}, 1)
	err = e.SetCallback(func(ev Event) {
		mu.Lock()
		kinds = append(kinds, ev.Kind)
		mu.Unlock()
		_ = e.IsLeader() // the Election may be used from its callback
		if ev.Kind == Granted {
			grant <- struct{}{}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-grant:
	case <-time.After(30 * time.Second):
		t.Fatal("no Granted event")
	}
	e.Close() // returns once the callback saw the last event
	mu.Lock()
	defer mu.Unlock()
	// The current state first (nobody leads yet, or already this instance), then the grant;
	// the revocation (closed) comes before Close returns.
	granted, revoked := -1, -1
	for i, k := range kinds {
		if k == Granted && granted < 0 {
			granted = i
		}
		if k == Revoked {
			revoked = i
		}
	}
	if granted < 0 || revoked < granted {
		t.Fatalf("events %v", kinds)
	}

	// A callback that closes its own election.
	f, err := New(redisURL, "go-callback", Options{TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var once sync.Once
	_ = f.SetCallback(func(ev Event) {
		if ev.Kind == Granted {
			f.Close()
			once.Do(func() { close(done) })
		}
	})
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("no Granted event")
	}
	if f.IsLeader() {
		t.Fatal("closed election leads")
	}
}
