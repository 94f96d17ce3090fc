# SQL stores (issue 14): the store suite and PostgreSQL's own cases (tests/postgres.rs) against
# real servers from Debian's postgresql package, started by testkit as plain processes (as the
# postgres system user when run as root). `make test-rust` skips that binary
# (BATON_SKIP_POSTGRES=1); this target runs it.

SQL_DEPS := pg_ctlcluster:postgresql

.PHONY: sql-deps test-sql

sql-deps:
	@BATON_EXTRA_DEPS="$(SQL_DEPS)" scripts/deps.sh

test-sql: deps sql-deps
	$(CARGO) test --release --test postgres

TEST_TARGETS += test-sql
