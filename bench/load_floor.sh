#!/usr/bin/env bash
# What the database server alone takes to load a generated population (issue 3's load target).
#
#   scripts/with-postgres bench/load_floor.sh 100000
#
# Generates N citizens with the loader (`dancu generate`, timed), copies the eight registry tables out
# to files, then loads those files back three ways with psql's \copy, which streams a file and costs
# next to no CPU on the client side, so that the time is the server's:
#   1. into the real tables, with every index and constraint maintained row by row;
#   2. into bare copies of the tables (no index, no constraint);
#   3. building every index of the real tables on those bare copies afterwards.
# 1 is what any loader that keeps the registry usable between batches pays; 2 + 3 is the least a load
# into an empty registry could pay. Needs an empty database (DANCU_DATABASE_URL, set by with-postgres).
set -euo pipefail
people=${1:-100000}
cd "$(dirname "$0")/.."
export DANCU_VAR_DIR=${DANCU_VAR_DIR:-$(mktemp -d)}
work=$(mktemp -d)
chmod 0777 "$work"
trap 'rm -rf "$work"' EXIT
psql_=(psql "$DANCU_DATABASE_URL" -X -q -v ON_ERROR_STOP=1)
export PGOPTIONS="-c client_min_messages=warning"  # not the TRUNCATE CASCADE notices
tables=(registry_citizen registry_pinrecord registry_household registry_householdmember registry_familylink
  registry_residence registry_identitycardrecord registry_recordversion)
listed=$(IFS=,; echo "${tables[*]}")
quoted=$(printf "'%s'," "${tables[@]}"); quoted=${quoted%,}

seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$@"; }

.venv/bin/dancu setup >/dev/null
echo "machine: $(nproc) cores, $(uptime | sed 's/.*load/load/')"
/usr/bin/time -f "generate and load: %e s wall, %U s user CPU in the loader" \
  .venv/bin/dancu generate --people "$people" --seed 11 --today 2025-07-01 | tail -1
for table in "${tables[@]}"; do "${psql_[@]}" -c "\\copy $table TO $work/$table.txt"; done
echo "files: $(du -sh "$work" | cut -f1)"

{
  echo "BEGIN; SET LOCAL session_replication_role = replica;"  # foreign keys: the loader checks them per batch
  echo "TRUNCATE $listed CASCADE;"
  for table in "${tables[@]}"; do echo "\\copy $table FROM $work/$table.txt"; done
  echo "COMMIT;"
} >"$work/indexed.sql"
start=$(date +%s.%N); "${psql_[@]}" -f "$work/indexed.sql"; end=$(date +%s.%N)
echo "1. into the indexed tables: $(seconds "$start" "$end") s"

for table in "${tables[@]}"; do "${psql_[@]}" -c "CREATE TABLE bare_$table (LIKE $table INCLUDING DEFAULTS)"; done
for table in "${tables[@]}"; do echo "\\copy bare_$table FROM $work/$table.txt"; done >"$work/bare.sql"
start=$(date +%s.%N); "${psql_[@]}" -f "$work/bare.sql"; end=$(date +%s.%N)
echo "2. into bare tables: $(seconds "$start" "$end") s"

"${psql_[@]}" -At -c "SELECT replace(replace(pg_get_indexdef(i.indexrelid), ' ON public.registry_',
  ' ON public.bare_registry_'), 'INDEX ', 'INDEX bare_') || ';' FROM pg_index i JOIN pg_class c ON c.oid =
  i.indrelid WHERE c.relname IN ($quoted)" >"$work/indexes.sql"
start=$(date +%s.%N); "${psql_[@]}" -f "$work/indexes.sql"; end=$(date +%s.%N)
echo "3. building the $(wc -l <"$work/indexes.sql") indexes on them: $(seconds "$start" "$end") s"
echo "machine after: $(uptime | sed 's/.*load/load/')"
