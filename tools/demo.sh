#!/bin/sh
# The main job: build, load the bundled sample release into a local database, start the
# broker, and show it answering lookups and validations. Leaves the broker stopped.
set -eu
cd "$(dirname "$0")/.."
make -j2 all
DB=build/demo-db
EP=tcp://127.0.0.1:${CODESET_DEMO_PORT:-5599}
rm -rf "$DB"
build/bin/codesetd --db "$DB" --listen "$EP" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null || true' EXIT INT TERM
CS="build/bin/codeset --connect $EP --db $DB"
for i in 1 2 3 4 5 6 7 8 9 10; do
    $CS ping >/dev/null 2>&1 && break
    sleep 0.3
done
S=loaders/icd10cm-tabular/sample
echo "== load the sample ICD-10-CM release"
$CS load --release sample --effective 2020-10-01 \
    "$S/icd10cm_tabular_sample.xml" "$S/icd10cm_order_sample.txt"
echo "== releases"
$CS releases
echo "== lookup icd10cm E11.9 (with ancestors)"
$CS lookup icd10cm e119 --include ancestors
echo "== validate a claim's codes"
$CS validate icd10cm E11.9 E11 S72.001 A00.00 XYZ || true
echo "== the same as JSON"
$CS --json validate icd10cm E11 || true
