# SQL stores (issue 14): the store suite and each store's own cases against real servers from
# Debian's packages, started by testkit as plain processes (as the postgres or mysql system
# user when run as root): PostgreSQL (tests/postgres.rs), MariaDB (tests/mysql.rs) and both
# over TLS (tests/sql_tls.rs), then the chaos run's PostgreSQL and MySQL phases with CI's
# fixed seed (about 50 s; docs/chaos.md, "The SQL phases"). `make test-rust` skips the SQL
# test binaries (BATON_SKIP_POSTGRES=1 BATON_SKIP_MYSQL=1) and runs no SQL chaos phase.
# make chaos-sql [SEED=N]    only the SQL chaos phases, CI's seed unless SEED is given

SQL_DEPS := pg_ctlcluster:postgresql mariadbd:mariadb-server
SQL_CHAOS_SEED := 20261201
SQL_CHAOS = BATON_CHAOS_PHASES=postgres,mysql $(CARGO) test --release --test chaos -- chaos_short_run

.PHONY: sql-deps test-sql chaos-sql

sql-deps:
	@BATON_EXTRA_DEPS="$(SQL_DEPS)" scripts/deps.sh

test-sql: deps sql-deps
	$(CARGO) test --release --test postgres --test mysql --test sql_tls
	BATON_CHAOS_SEED=$(SQL_CHAOS_SEED) $(SQL_CHAOS)

chaos-sql: deps sql-deps
	BATON_CHAOS_SEED=$(or $(SEED),$(SQL_CHAOS_SEED)) $(SQL_CHAOS)

TEST_TARGETS += test-sql
