#!/bin/sh
# The main job: build, load every bundled sample release into a local database, start the
# broker, and show it answering: lookups, claim validation with reasons, dates of service,
# search, crosswalks, the other code systems. Leaves the broker stopped.
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
L=loaders
step() { printf '\n== %s\n' "$*"; }

step "load the bundled sample releases (each in its official format)"
$CS load --release sample --effective 2020-10-01 \
    $L/icd10cm-tabular/sample/icd10cm_tabular_sample.xml \
    $L/icd10cm-tabular/sample/icd10cm_order_sample.txt
$CS load --release sample --effective 2024-10-01 \
    $L/icd10pcs-tables/sample/icd10pcs_tables_sample.xml \
    $L/icd10pcs-tables/sample/icd10pcs_order_sample.txt \
    $L/icd10pcs-tables/sample/icd10pcs_definitions_sample.xml \
    $L/icd10pcs-tables/sample/icd10pcs_index_sample.xml
$CS load --release sample --effective 2024-01-01 $L/hcpcs-anweb/sample/HCPC_sample.txt
$CS load --loader fhir-codesystem --system cpt --release synthetic --effective 2025-01-01 \
    $L/fhir-codesystem/sample/cpt_synthetic.xml
$CS load --release sample --effective 2017-10-01 $L/gems/sample/gems_I9gem_sample.txt \
    $L/gems/sample/gems_I10gem_sample.txt
$CS load --release sample --effective 2020-01-01 \
    $L/fhir-conceptmap/sample/dx_icd10cm_to_icd9cm.xml
$CS load --release sample --effective 2016-10-01 \
    $L/icd10cm-conversion/sample/icd10cm_conversion_sample.csv

step "releases"
$CS releases

step "lookup icd10cm E11.9 (with ancestors)"
$CS lookup icd10cm e119 --include ancestors

step "validate a claim's diagnosis codes"
$CS validate icd10cm E11.9 E11 S72.001 A00.00 XYZ || true

step "search as a coder types"
$CS search icd10cm type 2 diab --limit 5

step "an ICD-10-PCS code and what each of its characters means"
$CS lookup icd10pcs 0DTJ0ZZ

step "HCPCS Level II on a date of service: A9004 was terminated on 2024-12-31"
$CS validate hcpcs --date 2024-06-01 B9002 A9004 Q1 || true
$CS validate hcpcs --date 2025-03-01 B9002 A9004 Q1 || true

step "CPT from a (synthetic) FHIR CodeSystem"
$CS validate cpt 99911 99910 || true

step "crosswalk ICD-9-CM 250.00 to ICD-10-CM (CMS GEMs), and back from E11.9"
$CS crosswalk icd9cm icd10cm 250.00
$CS crosswalk icd10cm icd9cm E11.9 --map gems

step "the same validation as JSON, for programs"
$CS --json validate icd10cm E11 || true
