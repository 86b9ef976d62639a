#!/usr/bin/env bash
# The first load of a population package under different PostgreSQL settings: what the server's own
# settings change in issue 3's load figure (bench/RESULTS.md, session 25).
#
#   scripts/with-postgres bench/load_settings.sh PACKAGE_DIR "label|session options" ...
#   DANCU_PG_OPTIONS="-c shared_buffers=2GB" scripts/with-postgres bench/load_settings.sh PACKAGE_DIR a b
#
# Loads the package (written before by `dancu generate --package`) once per argument into the empty
# registry, with the argument's session options given to the loading connection through PGOPTIONS
# ("-c max_parallel_maintenance_workers=0"; empty for the defaults), and empties the registry after each.
# Server-wide settings (shared_buffers, max_wal_size) need a server started with them: DANCU_PG_OPTIONS.
# Each run's steps go to $LOGS/run-<label>.log; the summary lines to stdout.
set -euo pipefail
package=$1
shift
cd "$(dirname "$0")/.."
export DANCU_VAR_DIR=${DANCU_VAR_DIR:-$(mktemp -d)}
logs=${LOGS:-$(mktemp -d)}
dancu=.venv/bin/dancu
sql() {
  .venv/bin/python -c 'import os, sys, psycopg
with psycopg.connect(os.environ["DANCU_DATABASE_URL"], autocommit=True) as db:
    db.execute(sys.argv[1])' "$1"
}
$dancu setup >/dev/null
for run in "$@"; do
  label=${run%%|*}
  options=""
  [[ $run == *"|"* ]] && options=${run#*|}
  echo "== $label [$options] $(date -u +%T) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  PGOPTIONS="$options" $dancu load_package -v 2 "$package" >"$logs/run-$label.log" 2>&1
  awk '/CREATE/ {i += $1} /ADD CONSTRAINT.*UNIQUE/ {u += $1} /ADD CONSTRAINT/ && !/UNIQUE/ {f += $1}
    /copy version/ {v = $1}
    END {printf "   versions copy %.1f s, indexes %.1f s, unique constraints %.1f s, foreign keys %.1f s\n", v, i, u, f}' \
    "$logs/run-$label.log"
  grep "people/s" "$logs/run-$label.log" | sed 's/.*→ /   /'
  sql "TRUNCATE registry_citizen, registry_pinrecord, registry_household, registry_householdmember,
    registry_familylink, registry_residence, registry_identitycardrecord, registry_recordversion CASCADE"
done
echo "steps of each run: $logs"
