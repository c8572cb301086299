#!/bin/sh
# The main job: build, load every bundled sample release into a local database, start the
# broker, and show it answering: lookups, claim validation with reasons, dates of service,
# search, crosswalks, the other code systems, the ICD-10-CM Index, a claim scrubbed, and
# the same broker's releases over HTTP (JSON and FHIR). Leaves the broker stopped.
set -eu
cd "$(dirname "$0")/.."
make -j2 all
DB=build/demo-db
EP=tcp://127.0.0.1:${CODESET_DEMO_PORT:-5599}
rm -rf "$DB"
build/bin/codesetd --db "$DB" --listen "$EP" &
PID=$!
HTTP_PID=
trap 'kill $PID $HTTP_PID 2>/dev/null; wait $PID $HTTP_PID 2>/dev/null || true' EXIT INT TERM
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
$CS load --loader icd10cm-index --release sample --effective 2020-10-01 \
    $L/icd10cm-index/sample/icd10cm_index_sample.xml \
    $L/icd10cm-index/sample/icd10cm_eindex_sample.xml \
    $L/icd10cm-index/sample/icd10cm_drug_sample.xml \
    $L/icd10cm-index/sample/icd10cm_neoplasm_sample.xml

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

step "the ICD-10-CM Index, as a coder starts: each code with its state in the tabular"
$CS index index diabetes

step "scrub a claim: a header and a code listed twice"
CLAIM=build/demo-claim.json
cat >"$CLAIM" <<'JSON'
{"date":"2021-03-01","setting":"outpatient",
 "diagnoses":[{"code":"E11"},{"code":"E11.9"},{"code":"I10"},{"code":"E11.9"}]}
JSON
$CS claim "$CLAIM" || true

step "the same releases over HTTP: codeset-http beside the broker (JSON API and FHIR)"
HTTP_PORT=${CODESET_DEMO_HTTP_PORT:-8099}
build/bin/codeset-http --db "$DB" --listen 127.0.0.1:$HTTP_PORT &
HTTP_PID=$!
python3 - "$HTTP_PORT" <<'PY'
import json, sys, time, urllib.error, urllib.request
base = "http://127.0.0.1:%s" % sys.argv[1]
def get(path):
    for _ in range(50):
        try:
            with urllib.request.urlopen(base + path) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            return json.load(e)
        except OSError:
            time.sleep(0.1)
    raise SystemExit("codeset-http did not answer")
r = get("/api/v1/lookup?system=icd10cm&code=E11.9")
print("GET /api/v1/lookup?system=icd10cm&code=E11.9 ->", r["code"], r["title"])
p = get("/fhir/CodeSystem/$validate-code?url=http://hl7.org/fhir/sid/icd-10-cm&code=E11")
params = {x["name"]: x for x in p["parameter"]}
print("FHIR $validate-code E11 -> result", params["result"]["valueBoolean"], "|",
      params["message"]["valueString"])
print("the page for coders: " + base + "/ (while codeset-http runs)")
PY
