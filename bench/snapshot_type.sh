#!/usr/bin/env bash
# A record version's snapshot as `json` or as `jsonb`: what the column type costs the first load of a
# population package (issue 3's load target; the column is `json` since registry migration 0014).
#
#   scripts/with-postgres bench/snapshot_type.sh 1000000 [PACKAGE_DIR]
#
# Writes a package of N generated citizens (or reuses PACKAGE_DIR's), then loads it into the empty registry
# four times, the snapshot column altered to jsonb, json, jsonb, json in turn (alternating, so that a
# machine whose load changes during the runs weighs on both alike), emptying the registry between loads.
# Prints each load's steps (`dancu load_package -v 2`): the line "copy version" is the one the type moves.
set -euo pipefail
people=${1:-1000000}
cd "$(dirname "$0")/.."
export DANCU_VAR_DIR=${DANCU_VAR_DIR:-$(mktemp -d)}
package=${2:-$(mktemp -d)/package}
dancu=.venv/bin/dancu
sql() {
  .venv/bin/python -c 'import os, sys, psycopg
with psycopg.connect(os.environ["DANCU_DATABASE_URL"], autocommit=True) as db:
    db.execute(sys.argv[1])' "$1"
}
$dancu setup >/dev/null
if [ ! -f "$package/manifest.json" ]; then
  $dancu generate --people "$people" --seed 11 --today 2025-07-01 --package "$package"
fi
for kind in ${KINDS:-jsonb json jsonb json}; do
  sql "ALTER TABLE registry_recordversion ALTER COLUMN snapshot TYPE $kind USING snapshot::$kind"
  echo "== snapshot as $kind, $(date -u +%T) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  $dancu load_package -v 2 "$package" 2>&1 | grep -v "^ *[0-9.]* s  *\(CREATE\|ALTER\)"
  sql "TRUNCATE registry_citizen, registry_pinrecord, registry_household, registry_householdmember,
    registry_familylink, registry_residence, registry_identitycardrecord, registry_recordversion CASCADE"
done
sql "ALTER TABLE registry_recordversion ALTER COLUMN snapshot TYPE json USING snapshot::json"
