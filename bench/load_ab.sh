#!/usr/bin/env bash
# The first load of a population package by two versions of the code, alternately, on one server: what a
# change to `dancu load_package` changes in issue 3's load figure (bench/RESULTS.md, session 28).
#
#   scripts/with-postgres bench/load_ab.sh PACKAGE_DIR "label|src dir" ...
#   DANCU_PG_OPTIONS="-c wal_level=minimal -c max_wal_senders=0" scripts/with-postgres bench/load_ab.sh ...
#
# Each argument loads the package (written before by `dancu generate --package`) into the empty registry
# with the code of its source directory first on PYTHONPATH (a `git worktree` of the older commit, or
# src/ of this one), then empties the registry and checkpoints, so that no run pays for the dirty pages
# of the one before. Each run's steps go to $LOGS/run-<label>.log; the summary lines to stdout.
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
show() {
  .venv/bin/python -c 'import os, sys, psycopg
with psycopg.connect(os.environ["DANCU_DATABASE_URL"]) as db:
    print(db.execute("SELECT current_setting(%s)", [sys.argv[1]]).fetchone()[0])' "$1"
}
$dancu setup >/dev/null
echo "server: wal_level $(show wal_level)"
for run in "$@"; do
  label=${run%%|*}
  source=${run#*|}
  echo "== $label [$source] $(date -u +%T) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  PYTHONPATH="$source" $dancu load_package -v 2 "$package" >"$logs/run-$label.log" 2>&1
  awk '/CREATE/ {i += $1} /ADD CONSTRAINT.*UNIQUE/ {u += $1} /ADD CONSTRAINT/ && !/UNIQUE/ {f += $1}
    /copy version/ {v = $1}
    END {printf "   versions copy %.1f s, indexes %.1f s, unique constraints %.1f s, foreign keys %.1f s\n", v, i, u, f}' \
    "$logs/run-$label.log"
  grep "people/s" "$logs/run-$label.log" | sed 's/.*→ /   /'
  sql "TRUNCATE registry_citizen, registry_pinrecord, registry_household, registry_householdmember,
    registry_familylink, registry_residence, registry_identitycardrecord, registry_recordversion CASCADE"
  sql "CHECKPOINT"
done
echo "steps of each run: $logs"
