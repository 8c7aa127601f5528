#!/usr/bin/env bash
# Install (Debian's package), start and prepare a PostgreSQL server for the registry tests.
# Prints the URL the tests read from ACUEVIDENCE_TEST_POSTGRES_URL. Idempotent.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^$ver main"; then
  pg_createcluster "$ver" main >&2
fi
pg_ctlcluster "$ver" main start >&2 2>/dev/null || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 && break
  sleep 1
done
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='acuevidence'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE ROLE acuevidence LOGIN SUPERUSER PASSWORD 'acuevidence'\"" >&2
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='acuevidence_test'\"" | grep -q 1 \
  || su postgres -c "createdb -O acuevidence acuevidence_test" >&2
echo "postgresql://acuevidence:acuevidence@127.0.0.1:5432/acuevidence_test"
