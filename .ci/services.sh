#!/usr/bin/env bash
# Makes sure the servers the test matrix needs are up: Postgres (the second storage backend) and Redis.
# Uses a running one, else starts the installed one, else installs Debian's package and starts it;
# exits non-zero if one cannot be had. Sourced by .ci/run, so TEST_DATABASE_URL set here reaches the tests.
set -euo pipefail

: "${TEST_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/postgres}"
apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 -t 2 2>/dev/null; }
if ! pg_up; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -1)
  [ -d "/etc/postgresql/$version/main" ] || pg_createcluster "$version" main
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || { echo "ci: Postgres did not come up on 127.0.0.1:5432" >&2; exit 1; }

# A fresh Debian cluster asks for a password on TCP: give the postgres role a CI-only one.
if ! psql "$TEST_DATABASE_URL" -qAtc 'SELECT 1' >/dev/null 2>&1; then
  runuser -u postgres -- psql -qc "ALTER ROLE postgres PASSWORD 'gateway-ci'" >/dev/null
  TEST_DATABASE_URL=postgres://postgres:gateway-ci@127.0.0.1:5432/postgres
fi
psql "$TEST_DATABASE_URL" -qAtc 'SELECT 1' >/dev/null || { echo "ci: cannot log in to Postgres at 127.0.0.1:5432" >&2; exit 1; }
export TEST_DATABASE_URL

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! redis_up; then
  command -v redis-server >/dev/null || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi
redis_up || { echo "ci: Redis did not come up on 127.0.0.1:6379" >&2; exit 1; }
: "${TEST_REDIS_URL:=redis://127.0.0.1:6379}"
export TEST_REDIS_URL

# From here a missing server is a test failure, never a matrix that silently did not run.
export REQUIRE_POSTGRES=1 REQUIRE_REDIS=1
echo "ci: Postgres and Redis are up"
