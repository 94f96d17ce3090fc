//! The statements of the PostgreSQL store, for one lease table. Each state change is one
//! statement (autocommit: one transaction), timed by the server's clock (`now()`, the start
//! of that transaction).

/// The lease table. One row per election; a release clears `candidate` and keeps the row, so
/// that the next grant's token is larger than every earlier one.
pub(crate) const DDL: &str = "CREATE TABLE IF NOT EXISTS {t} (
  prefix    text        NOT NULL,
  name      text        NOT NULL,
  candidate text,
  host      text        NOT NULL DEFAULT '',
  pid       bigint      NOT NULL DEFAULT 0,
  token     bigint      NOT NULL,
  since     timestamptz NOT NULL,
  expires   timestamptz NOT NULL,
  resign    boolean     NOT NULL DEFAULT false,
  PRIMARY KEY (prefix, name)
)";

/// What baton's database user needs on the table (and `USAGE` on its schema).
pub(crate) const GRANTS: &str = "GRANT SELECT, INSERT, UPDATE ON {t} TO <baton user>";

/// The holder's columns as every reading statement returns them.
const HOLDER: &str = "candidate, host, pid, token,
  (extract(epoch FROM since) * 1000)::bigint AS since_ms,
  (extract(epoch FROM expires - now()) * 1000)::bigint AS left_ms";

/// $1 prefix, $2 name, $3 candidate, $4 host, $5 pid, $6 ttl ms.
/// Takes the lease when it is free, expired, or a leftover of this same candidate (an acquire
/// whose answer was lost), under `max(last token + 1, server clock in µs)`: the clock floor
/// keeps tokens growing even if the row was deleted or restored from an older backup.
/// Returns (granted, holder...): our grant, or the live holder. The holder is read on the
/// statement's snapshot: when the upsert waited for another grant's lock, that snapshot still
/// shows the row free or expired, so no row comes back and the caller reads again.
const ACQUIRE: &str = "WITH up AS (
  INSERT INTO {t} AS l (prefix, name, candidate, host, pid, token, since, expires, resign)
  VALUES ($1, $2, $3, $4, $5, (extract(epoch FROM now()) * 1000000)::bigint, now(),
          now() + $6 * interval '1 millisecond', false)
  ON CONFLICT (prefix, name) DO UPDATE
    SET candidate = EXCLUDED.candidate, host = EXCLUDED.host, pid = EXCLUDED.pid,
        token = GREATEST(l.token + 1, EXCLUDED.token), since = EXCLUDED.since,
        expires = EXCLUDED.expires, resign = false
    WHERE l.candidate IS NULL OR l.candidate = EXCLUDED.candidate OR l.expires <= now()
  RETURNING {holder}
)
SELECT true AS granted, * FROM up
UNION ALL
SELECT false, {holder} FROM {t}
 WHERE prefix = $1 AND name = $2 AND candidate IS NOT NULL AND expires > now()
   AND NOT EXISTS (SELECT 1 FROM up)";

/// $1 prefix, $2 name, $3 candidate, $4 token, $5 ttl ms. A row back: renewed (with the
/// resign marker); none: lost.
const RENEW: &str = "UPDATE {t} SET expires = now() + $5 * interval '1 millisecond'
 WHERE prefix = $1 AND name = $2 AND candidate = $3 AND token = $4 AND expires > now()
 RETURNING resign";

/// $1 prefix, $2 name, $3 candidate, $4 token (NULL: any grant of this candidate), $5 channel.
/// Clears our own lease (keeping the row and its token) and notifies the channel with the
/// election's name; the notification is delivered when the statement commits.
const RELEASE: &str = "WITH r AS (
  UPDATE {t} SET candidate = NULL, expires = now(), resign = false
   WHERE prefix = $1 AND name = $2 AND candidate = $3 AND ($4::bigint IS NULL OR token = $4)
  RETURNING json_build_array(prefix, name)::text AS payload
)
SELECT count(*) FROM r CROSS JOIN LATERAL (SELECT pg_notify($5, r.payload)) n";

/// $1 prefix, $2 name.
const READ: &str = "SELECT {holder} FROM {t}
 WHERE prefix = $1 AND name = $2 AND candidate IS NOT NULL AND expires > now()";

/// $1 prefix, $2 name, $3 channel. Marks the live lease so that its holder's next renewal
/// reports it, and wakes the holder; never clears anyone's lease.
const RESIGN: &str = "WITH r AS (
  UPDATE {t} SET resign = true
   WHERE prefix = $1 AND name = $2 AND candidate IS NOT NULL AND expires > now()
  RETURNING {holder}, json_build_array(prefix, name)::text AS payload
)
SELECT candidate, host, pid, token, since_ms, left_ms
  FROM r CROSS JOIN LATERAL (SELECT pg_notify($3, r.payload)) n";

/// $1 prefix.
const LIST: &str = "SELECT name, {holder} FROM {t}
 WHERE prefix = $1 AND candidate IS NOT NULL AND expires > now()";

/// Every statement, written for one table.
pub(crate) struct Statements {
    pub ddl: String,
    pub grants: String,
    pub acquire: String,
    pub renew: String,
    pub release: String,
    pub read: String,
    pub resign: String,
    pub list: String,
}

impl Statements {
    /// `table` is already quoted.
    pub fn new(table: &str) -> Statements {
        let fill = |s: &str| s.replace("{holder}", HOLDER).replace("{t}", table);
        Statements {
            ddl: fill(DDL),
            grants: fill(GRANTS),
            acquire: fill(ACQUIRE),
            renew: fill(RENEW),
            release: fill(RELEASE),
            read: fill(READ),
            resign: fill(RESIGN),
            list: fill(LIST),
        }
    }
}
