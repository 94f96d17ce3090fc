/*
 * Tests of baton's C ABI against a real redis-server (URL in BATON_TEST_REDIS_URL; run it
 * through tests/c/with-redis.sh). Meant to run under valgrind: every handle is freed, and
 * every misuse the ABI promises to survive is exercised.
 */
#define _GNU_SOURCE
#include <baton.h>

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Generous: valgrind slows baton down by an order of magnitude. */
#define WAIT_MS 30000

static const char *store_url;
static int failures;

static void failf(int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "test_baton.c:%d: FAILED: ", line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

#define CHECK(cond)                                     \
    do {                                                \
        if (!(cond)) failf(__LINE__, "%s", #cond);      \
    } while (0)

static const char *last_error(void) {
    static _Thread_local char buf[1024];
    baton_last_error(buf, sizeof buf);
    return buf;
}

/* Checks that `got` is `want` and that the last error message contains `needle`. */
static void expect(int line, baton_result got, baton_result want, const char *needle) {
    const char *msg = last_error();
    if (got != want) {
        failf(line, "got %s, want %s (last error: %s)", baton_result_text(got),
              baton_result_text(want), msg);
    } else if (want != BATON_OK && needle && !strstr(msg, needle)) {
        failf(line, "last error \"%s\" does not contain \"%s\"", msg, needle);
    }
}
#define EXPECT(call, want, needle) expect(__LINE__, (call), (want), (needle))
#define OK(call) expect(__LINE__, (call), BATON_OK, NULL)

static baton_config *config(const char *name, uint64_t ttl_ms) {
    baton_config *cfg = NULL;
    OK(baton_config_new(store_url, name, &cfg));
    OK(baton_config_set_ttl_ms(cfg, ttl_ms));
    return cfg;
}

static baton_election *election(const char *name) {
    baton_config *cfg = config(name, 3000);
    baton_election *e = NULL;
    OK(baton_election_new(cfg, &e));
    baton_config_free(cfg);
    if (!e) {
        fprintf(stderr, "cannot go on without an election\n");
        exit(1);
    }
    return e;
}

/* Subscribes `e`'s poll queue (the first poll does) and drops the current state it replays,
 * so that an event caused next is not emitted before anyone listens. */
static void subscribe(baton_election *e) {
    baton_event ev = BATON_EVENT_INIT;
    while (baton_election_poll_event(e, 0, &ev) == BATON_OK) {
    }
}

/* Polls `e` until an event of `kind` arrives; 1 if it did. Other events are skipped. */
static int await_event(baton_election *e, baton_event_kind kind, baton_event *out) {
    for (;;) {
        baton_result rc = baton_election_poll_event(e, WAIT_MS, out);
        if (rc != BATON_OK) {
            failf(__LINE__, "waiting for event %u: %s", kind, last_error());
            return 0;
        }
        if (out->kind == kind) return 1;
    }
}

/* ---- static functions ------------------------------------------------------------------ */

static void *no_failure_yet(void *arg) {
    char buf[8] = "junk";
    *(size_t *)arg = baton_last_error(buf, sizeof buf);
    CHECK(buf[0] == '\0');
    return NULL;
}

static void test_static(void) {
    CHECK(strcmp(baton_version(), "0.1.0") == 0);
    CHECK(strncmp(baton_result_text(BATON_OK), "BATON_OK", 8) == 0);
    CHECK(strstr(baton_result_text(BATON_INVALID_HANDLE), "BATON_INVALID_HANDLE") != NULL);
    CHECK(strstr(baton_result_text(BATON_PANIC), "BATON_PANIC") != NULL);
    CHECK(strcmp(baton_result_text(4242), "unknown baton_result value") == 0);
    CHECK(strcmp(baton_revoke_reason_text(BATON_REVOKE_LEASE_LOST), "lease_lost") == 0);
    CHECK(strcmp(baton_revoke_reason_text(BATON_REVOKE_NONE), "none") == 0);
    CHECK(strcmp(baton_revoke_reason_text(99), "unknown") == 0);

    /* A thread on which nothing failed has an empty last error. */
    pthread_t t;
    size_t len = 99;
    CHECK(pthread_create(&t, NULL, no_failure_yet, &len) == 0);
    pthread_join(t, NULL);
    CHECK(len == 0);

    /* snprintf-like: length query, truncation, exact fit. */
    EXPECT(baton_config_new(NULL, "job", NULL), BATON_NULL_ARGUMENT, "store is NULL");
    size_t full = baton_last_error(NULL, 0);
    CHECK(full == strlen("baton_config_new: store is NULL; pass a NUL-terminated UTF-8 string"));
    char small[10];
    CHECK(baton_last_error(small, sizeof small) == full);
    CHECK(strcmp(small, "baton_con") == 0);
    char one[1] = {'x'};
    CHECK(baton_last_error(one, 1) == full && one[0] == '\0');
    /* Successful calls leave the message alone. */
    baton_config *cfg = config("static", 1000);
    CHECK(strstr(last_error(), "store is NULL") != NULL);
    baton_config_free(cfg);
}

/* ---- NULL pointers everywhere ---------------------------------------------------------- */

static void test_nulls(void) {
    baton_config *cfg = (baton_config *)0x1;   /* sentinel: must stay untouched */
    EXPECT(baton_config_new(NULL, "job", &cfg), BATON_NULL_ARGUMENT, "store is NULL");
    EXPECT(baton_config_new(store_url, NULL, &cfg), BATON_NULL_ARGUMENT, "name is NULL");
    EXPECT(baton_config_new(store_url, "job", NULL), BATON_NULL_ARGUMENT, "out is NULL");
    CHECK(cfg == (baton_config *)0x1);

    EXPECT(baton_config_set_ttl_ms(NULL, 1000), BATON_NULL_ARGUMENT, "config is NULL");
    EXPECT(baton_config_set_renew_interval_ms(NULL, 100), BATON_NULL_ARGUMENT, "config is NULL");
    EXPECT(baton_config_set_retry_interval_ms(NULL, 10), BATON_NULL_ARGUMENT, "config is NULL");
    EXPECT(baton_config_set_drift(NULL, 0.01), BATON_NULL_ARGUMENT, "config is NULL");
    EXPECT(baton_config_set_key_prefix(NULL, "p:"), BATON_NULL_ARGUMENT, "config is NULL");
    EXPECT(baton_config_set_campaign(NULL, true), BATON_NULL_ARGUMENT, "config is NULL");
    EXPECT(baton_config_set_wait_for_replicas(NULL, 1, 10), BATON_NULL_ARGUMENT, "config is NULL");
    EXPECT(baton_config_set_connect_timeout_ms(NULL, 10), BATON_NULL_ARGUMENT, "config is NULL");

    cfg = config("nulls", 1000);
    EXPECT(baton_config_set_key_prefix(cfg, NULL), BATON_NULL_ARGUMENT, "key_prefix is NULL");
    baton_election *e = (baton_election *)0x1;
    EXPECT(baton_election_new(NULL, &e), BATON_NULL_ARGUMENT, "config is NULL");
    EXPECT(baton_election_new(cfg, NULL), BATON_NULL_ARGUMENT, "out is NULL");
    CHECK(e == (baton_election *)0x1);
    baton_leader *leader = (baton_leader *)0x1;
    EXPECT(baton_current_leader(NULL, &leader), BATON_NULL_ARGUMENT, "config is NULL");
    EXPECT(baton_current_leader(cfg, NULL), BATON_NULL_ARGUMENT, "out is NULL");
    CHECK(leader == (baton_leader *)0x1);

    uint64_t token = 42;
    baton_event ev = BATON_EVENT_INIT;
    CHECK(!baton_election_is_leader(NULL));
    CHECK(strstr(last_error(), "baton_election_is_leader: e is NULL") != NULL);
    EXPECT(baton_election_token(NULL, &token), BATON_NULL_ARGUMENT, "e is NULL");
    EXPECT(baton_election_resign(NULL), BATON_NULL_ARGUMENT, "e is NULL");
    EXPECT(baton_election_poll_event(NULL, 0, &ev), BATON_NULL_ARGUMENT, "e is NULL");
    EXPECT(baton_election_wait_for_leadership(NULL, 0, &token), BATON_NULL_ARGUMENT, "e is NULL");
    EXPECT(baton_election_set_callback(NULL, NULL, NULL), BATON_NULL_ARGUMENT, "e is NULL");
    EXPECT(baton_election_leader(NULL, &leader), BATON_NULL_ARGUMENT, "e is NULL");
    char buf[8];
    CHECK(baton_election_candidate_id(NULL, buf, sizeof buf) == 0);
    CHECK(token == 42 && ev.kind == 0 && leader == (baton_leader *)0x1);

    /* NULL out-parameters on a live election. */
    e = NULL;
    OK(baton_election_new(cfg, &e));
    EXPECT(baton_election_token(e, NULL), BATON_NULL_ARGUMENT, "token is NULL");
    EXPECT(baton_election_poll_event(e, 0, NULL), BATON_NULL_ARGUMENT, "out is NULL");
    EXPECT(baton_election_wait_for_leadership(e, 0, NULL), BATON_NULL_ARGUMENT, "token is NULL");
    EXPECT(baton_election_leader(e, NULL), BATON_NULL_ARGUMENT, "out is NULL");
    CHECK(baton_election_candidate_id(e, NULL, 0) > 0);   /* length query */

    /* _free(NULL) is a no-op and does not touch the last error. */
    EXPECT(baton_election_resign(NULL), BATON_NULL_ARGUMENT, "e is NULL");
    baton_election_free(NULL);
    baton_config_free(NULL);
    baton_leader_free(NULL);
    CHECK(strstr(last_error(), "baton_election_resign: e is NULL") != NULL);

    baton_election_free(e);
    baton_config_free(cfg);
}

/* ---- invalid UTF-8 --------------------------------------------------------------------- */

static void test_utf8(void) {
    const char *bad = "job-\xff\xfe";
    baton_config *cfg = NULL;
    EXPECT(baton_config_new(bad, "job", &cfg), BATON_INVALID_UTF8, "store is not valid UTF-8");
    EXPECT(baton_config_new(store_url, bad, &cfg), BATON_INVALID_UTF8, "name is not valid UTF-8");
    CHECK(strstr(last_error(), "offset 4") != NULL);
    CHECK(cfg == NULL);
    cfg = config("utf8", 1000);
    EXPECT(baton_config_set_key_prefix(cfg, bad), BATON_INVALID_UTF8, "key_prefix is not valid");
    baton_config_free(cfg);
}

/* ---- configuration rules --------------------------------------------------------------- */

/* Builds an election from `cfg`, which must fail with `want` naming `needle`; frees `cfg`. */
static void expect_rejected(int line, baton_config *cfg, baton_result want, const char *needle) {
    baton_election *e = (baton_election *)0x1;
    expect(line, baton_election_new(cfg, &e), want, needle);
    if (e != (baton_election *)0x1) {
        failf(line, "out written on failure");
        if (e) baton_election_free(e);
    }
    baton_config_free(cfg);
}
#define REJECTED(cfg, want, needle) expect_rejected(__LINE__, (cfg), (want), (needle))

static void test_config_rules(void) {
    baton_config *cfg;
    char long_name[301];
    memset(long_name, 'x', 300);
    long_name[300] = '\0';

    REJECTED(config("", 1000), BATON_INVALID_CONFIG, "election: must not be empty");
    REJECTED(config(long_name, 1000), BATON_INVALID_CONFIG, "election: is 300 bytes long");
    REJECTED(config("a{b}", 1000), BATON_INVALID_CONFIG, "hash tag");
    REJECTED(config("job", 0), BATON_INVALID_CONFIG, "ttl: 0s is out of range");
    REJECTED(config("job", 86400001), BATON_INVALID_CONFIG, "ttl: ");

    /* Every broken rule at once. */
    REJECTED(config("", 0), BATON_INVALID_CONFIG, "ttl: 0s is out of range");
    CHECK(strstr(last_error(), "election: must not be empty") != NULL);

    cfg = config("job", 1000);
    OK(baton_config_set_renew_interval_ms(cfg, 0));
    REJECTED(cfg, BATON_INVALID_CONFIG, "renew_interval");
    cfg = config("job", 1000);
    OK(baton_config_set_renew_interval_ms(cfg, 1000));
    REJECTED(cfg, BATON_INVALID_CONFIG, "renew_interval: 1s must be shorter");
    cfg = config("job", 1000);
    OK(baton_config_set_retry_interval_ms(cfg, 0));
    REJECTED(cfg, BATON_INVALID_CONFIG, "retry_interval: must be greater than zero");
    cfg = config("job", 1000);
    OK(baton_config_set_connect_timeout_ms(cfg, 0));
    REJECTED(cfg, BATON_INVALID_CONFIG, "connect_timeout: must be greater than zero");
    cfg = config("job", 1000);
    baton_config_free(cfg);
    {
        /* The builder's one validation reports a bad drift when the election is created. */
        const double bad[] = {NAN, -0.1, 2.0, INFINITY};
        const char *shown[] = {"drift: NaN is out of range", "drift: -0.1 is out of range",
                               "drift: 2 is out of range", "drift: inf is out of range"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            cfg = config("job", 1000);
            OK(baton_config_set_drift(cfg, bad[i]));
            REJECTED(cfg, BATON_INVALID_CONFIG, shown[i]);
        }
    }
    cfg = config("job", 1000);
    OK(baton_config_set_drift(cfg, 0.5));
    baton_config_free(cfg);
    cfg = config("job", 1000);
    OK(baton_config_set_key_prefix(cfg, "x{"));
    REJECTED(cfg, BATON_INVALID_CONFIG, "key_prefix: ");
    cfg = config("job", 1000);
    OK(baton_config_set_key_prefix(cfg, long_name));
    REJECTED(cfg, BATON_INVALID_CONFIG, "key_prefix: is 300 bytes long");
    cfg = config("job", 1000);
    OK(baton_config_set_wait_for_replicas(cfg, 0, 0));
    REJECTED(cfg, BATON_INVALID_CONFIG, "wait_for_replicas: count 0 is out of range");

    /* Negative durations, as C passes them in a uint64_t, are refused by the setter. */
    cfg = config("job", 1000);
    EXPECT(baton_config_set_ttl_ms(cfg, (uint64_t)-5), BATON_INVALID_CONFIG, "ttl: ");
    CHECK(strstr(last_error(), "negative (as int64: -5)") != NULL);
    EXPECT(baton_config_set_renew_interval_ms(cfg, (uint64_t)-1), BATON_INVALID_CONFIG,
           "renew_interval: ");
    EXPECT(baton_config_set_retry_interval_ms(cfg, (uint64_t)-1), BATON_INVALID_CONFIG,
           "retry_interval: ");
    EXPECT(baton_config_set_connect_timeout_ms(cfg, (uint64_t)-1), BATON_INVALID_CONFIG,
           "connect_timeout: ");
    EXPECT(baton_config_set_wait_for_replicas(cfg, 1, (uint64_t)-1), BATON_INVALID_CONFIG,
           "wait_for_replicas: ");
    baton_config_free(cfg);

    /* Store URL: checked at build time, then reachability. */
    cfg = NULL;
    OK(baton_config_new("http://localhost", "job", &cfg));
    REJECTED(cfg, BATON_INVALID_CONFIG, "store: ");
    OK(baton_config_new("", "job", &cfg));
    REJECTED(cfg, BATON_INVALID_CONFIG, "store: is empty");
    OK(baton_config_new("redis://127.0.0.1:1", "job", &cfg));
    OK(baton_config_set_connect_timeout_ms(cfg, 2000));
    REJECTED(cfg, BATON_STORE_UNREACHABLE, "store unreachable at redis://127.0.0.1:1");
    baton_leader *leader = (baton_leader *)0x1;
    OK(baton_config_new("redis://127.0.0.1:1", "job", &cfg));
    EXPECT(baton_current_leader(cfg, &leader), BATON_STORE_UNREACHABLE, "store unreachable");
    CHECK(leader == (baton_leader *)0x1);
    baton_config_free(cfg);
}

/* ---- handles used after free, of the wrong kind, or made up ---------------------------- */

static void test_handles(void) {
    baton_config *cfg = config("handles", 1000);
    baton_config_free(cfg);
    EXPECT(baton_config_set_ttl_ms(cfg, 1000), BATON_INVALID_HANDLE,
           "config is not a live baton_config");
    baton_election *e = (baton_election *)0x1;
    EXPECT(baton_election_new(cfg, &e), BATON_INVALID_HANDLE, "config is not a live baton_config");
    CHECK(e == (baton_election *)0x1);
    baton_config_free(cfg);   /* double free */
    CHECK(strstr(last_error(), "baton_config_free: config is not a live baton_config") != NULL);

    cfg = config("handles", 1000);
    /* Made-up pointers and a handle of the wrong kind. */
    int on_stack = 0;
    baton_election *bogus[] = {(baton_election *)(uintptr_t)0xdeadbeef,
                               (baton_election *)&on_stack, (baton_election *)cfg};
    for (size_t i = 0; i < sizeof bogus / sizeof *bogus; i++) {
        uint64_t token = 7;
        CHECK(!baton_election_is_leader(bogus[i]));
        CHECK(strstr(last_error(), "e is not a live baton_election") != NULL);
        EXPECT(baton_election_token(bogus[i], &token), BATON_INVALID_HANDLE, "not a live");
        EXPECT(baton_election_resign(bogus[i]), BATON_INVALID_HANDLE, "not a live");
        CHECK(token == 7);
    }
    EXPECT(baton_config_set_ttl_ms((baton_config *)&on_stack, 1), BATON_INVALID_HANDLE, "");

    /* An election after free. */
    e = NULL;
    OK(baton_election_new(cfg, &e));
    baton_config_free(cfg);
    baton_election_free(e);
    uint64_t token = 7;
    baton_event ev = BATON_EVENT_INIT;
    baton_leader *leader = NULL;
    CHECK(!baton_election_is_leader(e));
    EXPECT(baton_election_token(e, &token), BATON_INVALID_HANDLE, "e is not a live baton_election");
    EXPECT(baton_election_poll_event(e, 10, &ev), BATON_INVALID_HANDLE, "freed already");
    EXPECT(baton_election_wait_for_leadership(e, 10, &token), BATON_INVALID_HANDLE, "");
    EXPECT(baton_election_resign(e), BATON_INVALID_HANDLE, "");
    EXPECT(baton_election_set_callback(e, NULL, NULL), BATON_INVALID_HANDLE, "");
    EXPECT(baton_election_leader(e, &leader), BATON_INVALID_HANDLE, "");
    CHECK(token == 7 && ev.kind == 0 && leader == NULL);
    baton_election_free(e);   /* double free */
    CHECK(strstr(last_error(), "baton_election_free: e is not a live baton_election") != NULL);

    /* A leader record freed twice, or not from baton. */
    baton_leader fake = {0};
    baton_leader_free(&fake);
    CHECK(strstr(last_error(), "baton_leader_free: leader is not a live baton_leader") != NULL);
}

/* ---- the happy path: two candidates, one leader, handover on free and on resign -------- */

static void test_happy_path(void) {
    baton_election *a = election("happy");
    uint64_t ta = 0, t = 0;
    OK(baton_election_wait_for_leadership(a, WAIT_MS, &ta));
    CHECK(ta > 0);
    CHECK(baton_election_is_leader(a));
    OK(baton_election_token(a, &t));
    CHECK(t == ta);

    baton_election *b = election("happy");
    CHECK(!baton_election_is_leader(b));
    t = 42;
    EXPECT(baton_election_token(b, &t), BATON_NOT_LEADER, "does not lead");
    CHECK(t == 42);
    EXPECT(baton_election_wait_for_leadership(b, 0, &t), BATON_TIMEOUT, "no event");

    /* b learns who leads. */
    baton_event ev = BATON_EVENT_INIT;
    for (;;) {
        if (!await_event(b, BATON_EVENT_LEADER_CHANGED, &ev)) break;
        if (ev.has_leader) {
            CHECK(ev.token == ta);
            CHECK(ev.leader_pid == (uint32_t)getpid());
            break;
        }
    }
    char a_id[256];
    CHECK(baton_election_candidate_id(a, a_id, sizeof a_id) < sizeof a_id);
    baton_leader *leader = NULL;
    OK(baton_election_leader(b, &leader));
    CHECK(leader != NULL);
    if (leader) {
        CHECK(strcmp(leader->candidate_id, a_id) == 0);
        CHECK(leader->token == ta);
        CHECK(leader->pid == (uint32_t)getpid());
        CHECK(leader->since_unix_ms > 1600000000000ULL);
        CHECK(leader->lease_remaining_ms <= 3000);
        baton_leader_free(leader);
    }
    baton_config *cfg = config("happy", 3000);
    leader = NULL;
    OK(baton_current_leader(cfg, &leader));
    CHECK(leader && leader->token == ta && strcmp(leader->candidate_id, a_id) == 0);
    baton_leader_free(leader);
    leader = NULL;
    baton_leader_free(leader);

    /* Handover on free: b is granted a larger token. */
    baton_election_free(a);
    if (await_event(b, BATON_EVENT_GRANTED, &ev)) CHECK(ev.token > ta);
    CHECK(baton_election_is_leader(b));
    uint64_t tb = 0;
    OK(baton_election_token(b, &tb));
    CHECK(tb == ev.token);

    /* Handover on resign: c takes over, b is told why it lost. */
    baton_election *c = election("happy");
    OK(baton_election_resign(b));
    CHECK(!baton_election_is_leader(b));
    if (await_event(b, BATON_EVENT_REVOKED, &ev)) {
        CHECK(ev.reason == BATON_REVOKE_RESIGNED && ev.token == tb);
    }
    OK(baton_election_wait_for_leadership(c, WAIT_MS, &t));
    CHECK(t > tb);
    baton_election_free(b);
    baton_election_free(c);

    /* Nobody leads now. */
    leader = (baton_leader *)0x1;
    OK(baton_current_leader(cfg, &leader));
    CHECK(leader == NULL);
    baton_config_free(cfg);

    /* A watcher (campaign false) never leads. */
    cfg = config("watch-only", 3000);
    OK(baton_config_set_campaign(cfg, false));
    baton_election *w = NULL;
    OK(baton_election_new(cfg, &w));
    baton_config_free(cfg);
    EXPECT(baton_election_wait_for_leadership(w, 200, &t), BATON_TIMEOUT, "");
    baton_election_free(w);
}

/* ---- builder options: resign_on_request, allow_eviction, baton_request_resign --------- */

static int redis_cli(const char *args) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "redis-cli -u '%s' %s >/dev/null", store_url, args);
    return system(cmd);
}

static void test_options(void) {
    EXPECT(baton_config_set_allow_eviction(NULL, true), BATON_NULL_ARGUMENT, "config is NULL");
    EXPECT(baton_config_set_resign_on_request(NULL, false), BATON_NULL_ARGUMENT, "config is NULL");
    baton_leader *asked = NULL;
    EXPECT(baton_request_resign(NULL, &asked), BATON_NULL_ARGUMENT, "config is NULL");

    /* resign_on_request(false): the leader is told and keeps leading until it resigns. */
    baton_config *cfg = config("deferred", 3000);
    EXPECT(baton_request_resign(cfg, NULL), BATON_NULL_ARGUMENT, "out is NULL");
    asked = (baton_leader *)0x1;
    OK(baton_request_resign(cfg, &asked));
    CHECK(asked == NULL); /* nobody leads yet */
    OK(baton_config_set_resign_on_request(cfg, false));
    baton_election *a = NULL;
    OK(baton_election_new(cfg, &a));
    uint64_t ta = 0;
    OK(baton_election_wait_for_leadership(a, WAIT_MS, &ta));
    subscribe(a);
    asked = NULL;
    OK(baton_request_resign(cfg, &asked));
    CHECK(asked && asked->token == ta);
    baton_leader_free(asked);
    baton_event ev = BATON_EVENT_INIT;
    if (await_event(a, BATON_EVENT_RESIGN_REQUESTED, &ev)) CHECK(ev.token == ta);
    CHECK(baton_election_is_leader(a));
    OK(baton_election_resign(a));
    if (await_event(a, BATON_EVENT_REVOKED, &ev)) {
        CHECK(ev.reason == BATON_REVOKE_RESIGNED && ev.token == ta);
    }
    baton_election_free(a);

    /* The default (true): a request makes the leader resign by itself. */
    OK(baton_config_set_resign_on_request(cfg, true));
    baton_config_free(cfg);
    cfg = config("immediate", 3000);
    baton_election *b = NULL;
    OK(baton_election_new(cfg, &b));
    uint64_t tb = 0;
    OK(baton_election_wait_for_leadership(b, WAIT_MS, &tb));
    subscribe(b);
    asked = NULL;
    OK(baton_request_resign(cfg, &asked));
    CHECK(asked && asked->token == tb);
    baton_leader_free(asked);
    if (await_event(b, BATON_EVENT_REVOKED, &ev)) {
        CHECK(ev.reason == BATON_REVOKE_RESIGNED && ev.token == tb);
    }
    baton_election_free(b);
    baton_config_free(cfg);

    /* allow_eviction: an allkeys-* store is refused unless the risk is accepted. */
    if (redis_cli("config set maxmemory-policy allkeys-lru") != 0) {
        failf(__LINE__, "redis-cli could not set maxmemory-policy");
        return;
    }
    cfg = config("evictable", 3000);
    baton_election *e = NULL;
    EXPECT(baton_election_new(cfg, &e), BATON_INVALID_CONFIG, "allow_eviction");
    CHECK(e == NULL);
    OK(baton_config_set_allow_eviction(cfg, true));
    OK(baton_election_new(cfg, &e));
    CHECK(e != NULL);
    baton_election_free(e);
    baton_config_free(cfg);
    CHECK(redis_cli("config set maxmemory-policy noeviction") == 0);

    /* Renewal stats: counted with their round trips; out-parameters checked. */
    cfg = config("renewals", 1500);
    baton_election *r = NULL;
    OK(baton_election_new(cfg, &r));
    baton_config_free(cfg);
    uint64_t count = 7, total = 7, token = 0;
    EXPECT(baton_election_renewal_stats(r, NULL, &total), BATON_NULL_ARGUMENT, "count is NULL");
    EXPECT(baton_election_renewal_stats(r, &count, NULL), BATON_NULL_ARGUMENT, "total_ns is NULL");
    EXPECT(baton_election_renewal_stats(NULL, &count, &total), BATON_NULL_ARGUMENT, "e is NULL");
    CHECK(count == 7 && total == 7);
    OK(baton_election_wait_for_leadership(r, WAIT_MS, &token));
    /* A renewal every 500ms: no event announces one, so poll, bounded. */
    for (int i = 0; i < WAIT_MS / 50; i++) {
        OK(baton_election_renewal_stats(r, &count, &total));
        if (count >= 2) break;
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    CHECK(count >= 2);
    CHECK(total > 0);
    EXPECT(baton_election_subscription_failures(r, NULL), BATON_NULL_ARGUMENT, "count is NULL");
    EXPECT(baton_election_subscription_failures(NULL, &count), BATON_NULL_ARGUMENT, "e is NULL");
    OK(baton_election_subscription_failures(r, &count));
    CHECK(count == 0);
    baton_election_free(r);

    /* A user who may not subscribe still elects; each refused subscription is counted. */
    CHECK(redis_cli("acl setuser deaf on '>pw' '~baton:*' resetchannels '+@all'") == 0);
    const char *host = strstr(store_url, "://");
    CHECK(host != NULL);
    char deaf_url[512];
    snprintf(deaf_url, sizeof deaf_url, "redis://deaf:pw@%s", host + 3);
    OK(baton_config_new(deaf_url, "deaf", &cfg));
    baton_election *d = NULL;
    OK(baton_election_new(cfg, &d));
    baton_config_free(cfg);
    OK(baton_election_wait_for_leadership(d, WAIT_MS, &token));
    count = 0;
    OK(baton_election_subscription_failures(d, &count));
    CHECK(count >= 1);
    baton_election_free(d);
    CHECK(redis_cli("acl deluser deaf") == 0);
}

/* ---- callbacks on a thread of their own ----------------------------------------------- */

struct collector {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    baton_election *self;     /* freed from inside the callback when set */
    int granted, revoked, calls, off_thread, bad_size;
    baton_revoke_reason reason;
    char thread_name[16];
};

#define COLLECTOR {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, 0, 0, 0, ""}

/* ---- TLS with a private CA and a client certificate; the connection's client name ------ */

/* A whole file as a NUL-terminated string (freed by the caller), or NULL. */
static char *read_file(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (buf && n == 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void test_tls(void) {
    const char *tls_url = getenv("BATON_TEST_REDISS_URL");
    const char *dir = getenv("BATON_TEST_TLS_DIR");
    if (!tls_url || !dir) {
        failf(__LINE__, "set BATON_TEST_REDISS_URL and BATON_TEST_TLS_DIR (tests/c/with-redis.sh does)");
        return;
    }
    char *ca = read_file(dir, "ca.crt"), *cert = read_file(dir, "client.crt"),
         *key = read_file(dir, "client.key");
    if (!ca || !cert || !key) {
        failf(__LINE__, "cannot read the TLS files in %s", dir);
        free(ca), free(cert), free(key);
        return;
    }
    EXPECT(baton_config_set_tls_ca_pem(NULL, ca), BATON_NULL_ARGUMENT, "config is NULL");

    baton_config *cfg = NULL;
    OK(baton_config_new(tls_url, "tls", &cfg));
    EXPECT(baton_config_set_tls_ca_pem(cfg, NULL), BATON_NULL_ARGUMENT, "ca_pem is NULL");
    EXPECT(baton_config_set_tls_client_cert_pem(cfg, cert, NULL), BATON_NULL_ARGUMENT,
           "key_pem is NULL");
    EXPECT(baton_config_set_client_name(cfg, NULL), BATON_NULL_ARGUMENT, "client_name is NULL");
    EXPECT(baton_config_set_client_name(cfg, "\xff"), BATON_INVALID_UTF8, "client_name");
    baton_config_free(cfg);

    /* Bad PEM and a plain URL are named with their fix. */
    OK(baton_config_new(tls_url, "tls", &cfg));
    OK(baton_config_set_tls_ca_pem(cfg, "not pem"));
    OK(baton_config_set_tls_client_cert_pem(cfg, cert, cert));
    OK(baton_config_set_client_name(cfg, "two words"));
    REJECTED(cfg, BATON_INVALID_CONFIG, "tls_ca: holds no PEM certificate");
    CHECK(strstr(last_error(), "tls_client_key: holds no readable PEM private key") != NULL);
    CHECK(strstr(last_error(), "client_name: ") != NULL);
    OK(baton_config_new(store_url, "tls", &cfg));
    OK(baton_config_set_tls_ca_pem(cfg, ca));
    REJECTED(cfg, BATON_INVALID_CONFIG, "use rediss://");

    /* Without the client certificate the server refuses; with it, baton leads. */
    OK(baton_config_new(tls_url, "tls", &cfg));
    /* Generous: a TLS handshake under valgrind on a loaded machine is slow. */
    OK(baton_config_set_connect_timeout_ms(cfg, 20000));
    OK(baton_config_set_tls_ca_pem(cfg, ca));
    baton_election *e = NULL;
    EXPECT(baton_election_new(cfg, &e), BATON_STORE_UNREACHABLE, "");
    CHECK(e == NULL);
    OK(baton_config_set_tls_client_cert_pem(cfg, cert, key));
    OK(baton_config_set_client_name(cfg, "baton:c-test"));
    OK(baton_election_new(cfg, &e));
    baton_config_free(cfg);
    uint64_t token = 0;
    if (e) {
        OK(baton_election_wait_for_leadership(e, WAIT_MS, &token));
        CHECK(token > 0);
        /* The name was sent after the first connect; CLIENT LIST shows it. */
        int named = 0;
        for (int i = 0; i < 500 && !named; i++) {
            named = redis_cli("CLIENT LIST | grep -q 'name=baton:c-test '") == 0;
            if (!named) usleep(20000);
        }
        CHECK(named);
        baton_election_free(e);
    }
    free(ca), free(cert), free(key);
}

static pthread_t main_thread;

static void on_event(const baton_event *event, void *userdata) {
    struct collector *c = userdata;
    pthread_mutex_lock(&c->mu);
    c->calls++;
    c->bad_size += event->struct_size != sizeof(baton_event);
    c->off_thread = !pthread_equal(pthread_self(), main_thread);
    pthread_getname_np(pthread_self(), c->thread_name, sizeof c->thread_name);
    if (event->kind == BATON_EVENT_GRANTED) c->granted++;
    if (event->kind == BATON_EVENT_REVOKED) {
        c->revoked++;
        c->reason = event->reason;
    }
    baton_election *self = event->kind == BATON_EVENT_GRANTED ? c->self : NULL;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (self) baton_election_free(self);   /* allowed from the election's own callback */
}

/* Waits until `*counter` is positive; 1 if it became so in time. */
static int await_count(struct collector *c, int *counter) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += WAIT_MS / 1000;
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    while (*counter == 0 && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&c->cv, &c->mu, &until);
    int ok = *counter > 0;
    pthread_mutex_unlock(&c->mu);
    if (!ok) failf(__LINE__, "callback event did not arrive");
    return ok;
}

static struct collector freed_inside = COLLECTOR;   /* outlives its detached thread */

static void test_callbacks(void) {
    /* Grant and revocation reach the callback, on baton's callback thread. */
    struct collector c = COLLECTOR;
    baton_election *e = election("callback");
    OK(baton_election_set_callback(e, on_event, &c));
    await_count(&c, &c.granted);
    pthread_mutex_lock(&c.mu);
    CHECK(c.off_thread);
    CHECK(strcmp(c.thread_name, "baton-callback") == 0);
    CHECK(c.bad_size == 0);
    pthread_mutex_unlock(&c.mu);
    /* free returns only after the callback saw the last event: `c` may go out of scope. */
    baton_election_free(e);
    CHECK(c.revoked == 1 && c.reason == BATON_REVOKE_CLOSED);

    /* After set_callback(NULL) returns, the old callback is never called again. */
    struct collector d = COLLECTOR;
    e = election("callback");
    OK(baton_election_set_callback(e, on_event, &d));
    await_count(&d, &d.granted);
    OK(baton_election_set_callback(e, NULL, NULL));
    baton_election_free(e);
    CHECK(d.revoked == 0);

    /* A callback may free its own election. */
    e = election("callback");
    freed_inside.self = e;
    OK(baton_election_set_callback(e, on_event, &freed_inside));
    await_count(&freed_inside, &freed_inside.granted);
    /* The callback then still gets the election's last event, after free returned. */
    await_count(&freed_inside, &freed_inside.revoked);
    CHECK(freed_inside.reason == BATON_REVOKE_CLOSED);
    CHECK(!baton_election_is_leader(e));
}

/* ---- many threads at once, and a free in the middle ------------------------------------ */

#define THREADS 6
#define ROUNDS 300

static pthread_barrier_t start_line;
static baton_election *shared_election;

static int allowed(baton_result rc, baton_result a, baton_result b, baton_result c) {
    return rc == a || rc == b || rc == c;
}

static void *hammer(void *arg) {
    int *bad = arg;
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < ROUNDS; i++) {
        baton_election *e = shared_election;
        uint64_t token;
        baton_event ev = BATON_EVENT_INIT;
        baton_leader *leader = NULL;
        char id[128];
        (void)baton_election_is_leader(e);
        *bad += !allowed(baton_election_token(e, &token), BATON_OK, BATON_NOT_LEADER,
                         BATON_INVALID_HANDLE);
        /* BATON_CLOSED: polled between the free's close and the handle's removal. */
        baton_result polled = baton_election_poll_event(e, 0, &ev);
        *bad += !allowed(polled, BATON_OK, BATON_TIMEOUT, BATON_INVALID_HANDLE) &&
                polled != BATON_CLOSED;
        baton_result rc = baton_election_leader(e, &leader);
        *bad += !allowed(rc, BATON_OK, BATON_INVALID_HANDLE, BATON_INVALID_HANDLE);
        if (rc == BATON_OK) baton_leader_free(leader);
        (void)baton_election_candidate_id(e, id, sizeof id);
        baton_config *cfg = NULL;
        *bad += baton_config_new(store_url, "hammer", &cfg) != BATON_OK;
        *bad += baton_config_set_ttl_ms(cfg, 1000 + (uint64_t)i) != BATON_OK;
        baton_config_free(cfg);
    }
    return NULL;
}

static void *build(void *out) {
    *(baton_election **)out = election("threads-2");
    return NULL;
}

static void test_threads(void) {
    shared_election = election("threads");
    uint64_t token;
    OK(baton_election_wait_for_leadership(shared_election, WAIT_MS, &token));
    pthread_t threads[THREADS];
    int bad[THREADS] = {0};
    pthread_barrier_init(&start_line, NULL, THREADS + 1);
    for (int i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, hammer, &bad[i]);
    pthread_barrier_wait(&start_line);
    /* Free while the others are using it: they see BATON_INVALID_HANDLE, never a crash. */
    baton_election_free(shared_election);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        CHECK(bad[i] == 0);
    }
    pthread_barrier_destroy(&start_line);

    /* Several elections of one name built at once, from several threads: one leads. */
    pthread_t builders[4];
    baton_election *es[4];
    for (int i = 0; i < 4; i++) pthread_create(&builders[i], NULL, build, &es[i]);
    for (int i = 0; i < 4; i++) pthread_join(builders[i], NULL);
    baton_event ev = BATON_EVENT_INIT;
    while (await_event(es[0], BATON_EVENT_LEADER_CHANGED, &ev) && !ev.has_leader) {
    }
    int leaders = 0;
    for (int i = 0; i < 4; i++) leaders += baton_election_is_leader(es[i]);
    CHECK(leaders <= 1);
    for (int i = 0; i < 4; i++) baton_election_free(es[i]);
}

/* ---- ABI policy: public structs only grow at the end and carry their size ---------------- */

/* The first version's layout is frozen: these offsets may never change (docs/c-abi.md). */
_Static_assert(offsetof(baton_event, struct_size) == 0, "struct_size comes first");
_Static_assert(offsetof(baton_event, kind) == 4, "baton_event v1 layout");
_Static_assert(offsetof(baton_event, reason) == 8, "baton_event v1 layout");
_Static_assert(offsetof(baton_event, token) == 16, "baton_event v1 layout");
_Static_assert(offsetof(baton_event, leader_pid) == 24, "baton_event v1 layout");
_Static_assert(offsetof(baton_event, has_leader) == 28, "baton_event v1 layout");
_Static_assert(offsetof(baton_leader, struct_size) == 0, "struct_size comes first");
_Static_assert(offsetof(baton_leader, candidate_id) == sizeof(void *), "baton_leader v1 layout");
_Static_assert(offsetof(baton_leader, host) == 2 * sizeof(void *), "baton_leader v1 layout");
_Static_assert(offsetof(baton_leader, pid) == 3 * sizeof(void *), "baton_leader v1 layout");

static void test_abi(void) {
    baton_election *e = election("abi");
    uint64_t token;
    OK(baton_election_wait_for_leadership(e, WAIT_MS, &token));

    /* A caller that did not set struct_size is refused before any event is taken. */
    baton_event unset = {.kind = 0};
    EXPECT(baton_election_poll_event(e, 0, &unset), BATON_INVALID_ARGUMENT,
           "out->struct_size is 0; set it to sizeof(baton_event)");
    CHECK(unset.kind == 0);

    /* A newer caller's larger struct: baton writes its own size and leaves the rest alone. */
    struct {
        baton_event ev;
        uint64_t added_later;
    } newer = {.ev = BATON_EVENT_INIT, .added_later = 0xfeedface};
    newer.ev.struct_size = sizeof newer;
    OK(baton_election_poll_event(e, WAIT_MS, &newer.ev));
    CHECK(newer.ev.kind == BATON_EVENT_GRANTED && newer.ev.token == token);
    CHECK(newer.ev.struct_size == sizeof(baton_event));
    CHECK(newer.added_later == 0xfeedface);
    CHECK(BATON_HAS_FIELD(baton_event, &newer.ev, has_leader));

    baton_leader *leader = NULL;
    OK(baton_election_leader(e, &leader));
    CHECK(leader != NULL);
    if (leader) {
        CHECK(leader->struct_size == sizeof(baton_leader));
        CHECK(BATON_HAS_FIELD(baton_leader, leader, lease_remaining_ms));
        CHECK(leader->token == token);
        baton_leader_free(leader);
    }
    CHECK(strstr(baton_result_text(BATON_INVALID_ARGUMENT), "BATON_INVALID_ARGUMENT") != NULL);
    baton_election_free(e);
}

/* ---- shutdown ------------------------------------------------------------------------- */

static void test_shutdown(void) {
    baton_election *e = election("shutdown");
    uint64_t token;
    OK(baton_election_wait_for_leadership(e, WAIT_MS, &token));
    /* Subscribe (the first poll does) before shutting down, to see the revocation. */
    baton_event ev = BATON_EVENT_INIT;
    OK(baton_election_poll_event(e, 0, &ev));
    CHECK(ev.kind == BATON_EVENT_GRANTED && ev.token == token);
    baton_shutdown();
    CHECK(!baton_election_is_leader(e));
    int revoked = 0;
    baton_result rc;
    while ((rc = baton_election_poll_event(e, WAIT_MS, &ev)) == BATON_OK) {
        if (ev.kind == BATON_EVENT_REVOKED && ev.reason == BATON_REVOKE_CLOSED) revoked++;
    }
    EXPECT(rc, BATON_CLOSED, "was closed");
    CHECK(revoked == 1);
    EXPECT(baton_election_resign(e), BATON_CLOSED, "closed");
    baton_election_free(e);

    /* Elections built after shutdown work as usual. */
    e = election("shutdown");
    OK(baton_election_wait_for_leadership(e, WAIT_MS, &token));
    baton_election_free(e);
}

int main(void) {
    store_url = getenv("BATON_TEST_REDIS_URL");
    if (!store_url) {
        fprintf(stderr, "set BATON_TEST_REDIS_URL (tests/c/with-redis.sh does)\n");
        return 2;
    }
    main_thread = pthread_self();
    struct {
        const char *name;
        void (*run)(void);
    } tests[] = {
        {"static", test_static},           {"nulls", test_nulls},
        {"utf8", test_utf8},               {"config_rules", test_config_rules},
        {"handles", test_handles},         {"happy_path", test_happy_path},
        {"callbacks", test_callbacks},     {"threads", test_threads},
        {"abi", test_abi},                 {"options", test_options},
        {"tls", test_tls},                 {"shutdown", test_shutdown},
    };
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) {
        int before = failures;
        tests[i].run();
        printf("%-14s %s\n", tests[i].name, failures == before ? "ok" : "FAILED");
    }
    baton_shutdown();
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
