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
# shellcheck source=bench/load_lib.sh
source bench/load_lib.sh
$dancu setup >/dev/null
for run in "$@"; do
  label=${run%%|*}
  options=""
  [[ $run == *"|"* ]] && options=${run#*|}
  load_once "$label" "$options" PGOPTIONS="$options"
done
echo "steps of each run: $logs"
