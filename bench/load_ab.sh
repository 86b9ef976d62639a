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
# shellcheck source=bench/load_lib.sh
source bench/load_lib.sh
$dancu setup >/dev/null
echo "server: wal_level $(setting wal_level)"
for run in "$@"; do
  label=${run%%|*}
  source=${run#*|}
  load_once "$label" "$source" PYTHONPATH="$source"
  sql "CHECKPOINT"
done
echo "steps of each run: $logs"
