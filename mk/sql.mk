# SQL stores (issue 14): the store suite and each store's own cases against real servers from
# Debian's packages, started by testkit as plain processes (as the postgres or mysql system
# user when run as root): PostgreSQL (tests/postgres.rs), MariaDB (tests/mysql.rs) and both
# over TLS (tests/sql_tls.rs). `make test-rust` skips those binaries (BATON_SKIP_POSTGRES=1
# BATON_SKIP_MYSQL=1); this target runs them. The chaos run's PostgreSQL and MySQL phases run
# on request, not in `make test`: a PostgreSQL `store-pause` left four elections leaderless
# 1.3-1.4s past the bound in a `make test` of 2026-12-01 (docs/chaos.md, "The SQL phases").
# make chaos-sql [SEED=N]    only the SQL chaos phases, CI's seed unless SEED is given

SQL_DEPS := pg_ctlcluster:postgresql mariadbd:mariadb-server
SQL_CHAOS_SEED := 20261201
SQL_CHAOS = BATON_CHAOS_PHASES=postgres,mysql $(CARGO) test --release --test chaos -- chaos_short_run

.PHONY: sql-deps test-sql chaos-sql

sql-deps:
	@BATON_EXTRA_DEPS="$(SQL_DEPS)" scripts/deps.sh

test-sql: deps sql-deps
	$(CARGO) test --release --test postgres --test mysql --test sql_tls

chaos-sql: deps sql-deps
	BATON_CHAOS_SEED=$(or $(SEED),$(SQL_CHAOS_SEED)) $(SQL_CHAOS)

TEST_TARGETS += test-sql
