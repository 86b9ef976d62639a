# What bench/load_settings.sh and bench/load_ab.sh share: loading a package into the empty registry,
# reading each run's steps, emptying the registry again. Sourced, not run; the caller sets `package`,
# `logs` and `dancu`, and runs from the repository's root with DANCU_DATABASE_URL set.

sql() {
  .venv/bin/python -c 'import os, sys, psycopg
with psycopg.connect(os.environ["DANCU_DATABASE_URL"], autocommit=True) as db:
    db.execute(sys.argv[1])' "$1"
}

setting() {
  .venv/bin/python -c 'import os, sys, psycopg
with psycopg.connect(os.environ["DANCU_DATABASE_URL"]) as db:
    print(db.execute("SELECT current_setting(%s)", [sys.argv[1]]).fetchone()[0])' "$1"
}

# load_once LABEL SHOWN [NAME=VALUE ...]: load the package with these environment variables, print the
# run's summary (SHOWN says what the run varies), and empty the registry for the next run.
load_once() {
  local label=$1 shown=$2
  shift 2
  echo "== $label [$shown] $(date -u +%T) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  env "$@" $dancu load_package -v 2 "$package" >"$logs/run-$label.log" 2>&1
  awk '/CREATE/ {i += $1} /ADD CONSTRAINT.*UNIQUE/ {u += $1} /ADD CONSTRAINT/ && !/UNIQUE/ {f += $1}
    /copy version/ {v = $1}
    END {printf "   versions copy %.1f s, indexes %.1f s, unique constraints %.1f s, foreign keys %.1f s\n", v, i, u, f}' \
    "$logs/run-$label.log"
  grep "people/s" "$logs/run-$label.log" | sed 's/.*→ /   /'
  sql "TRUNCATE registry_citizen, registry_pinrecord, registry_household, registry_householdmember,
    registry_familylink, registry_residence, registry_identitycardrecord, registry_recordversion CASCADE"
}
