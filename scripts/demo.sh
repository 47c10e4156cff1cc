#!/usr/bin/env bash
# The demo: write the sample inspection, then run the real DAGs through Airflow for every
# sample day (ingest, then publish as of that day), and say what happened.
set -euo pipefail
inspection=${1:-c3-hn-2024}
days=${2:-10}
seed=${3:-7}
data=${DUCHA_DATA_DIR:?}
logs="$data/logs/demo"
mkdir -p "$logs"

ducha sample --out "$data/landing" --inspection "$inspection" --days "$days" --seed "$seed"

run_dag() {  # dag_id day [conf]
  local log="$logs/$1-$2.log"
  local args=(dags test "$1" "$2")
  [[ -n ${3:-} ]] && args+=(-c "$3")
  if airflow "${args[@]}" >"$log" 2>&1 && grep -q "DagRun Finished.*state=success" "$log"; then
    printf '  %-14s %s ok\n' "$1" "$2"
  else
    printf '  %-14s %s FAILED — last lines of %s:\n' "$1" "$2" "$log"
    tail -n 30 "$log"
    exit 1
  fi
}

echo "Running the DAGs through Airflow (logs in $logs):"
for folder in "$data/landing/$inspection"/*/; do
  day=$(basename "$folder")
  run_dag ducha_ingest "$day"
  run_dag ducha_publish "$day" "{\"as_of\": \"$day\"}"
done
echo
ducha status
