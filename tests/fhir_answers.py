#!/usr/bin/env python3
"""fhir_answers.py: codeset-http's FHIR answers to about 11,700 requests, written to a file,
so that two builds can be compared byte for byte (a change meant to keep every answer).

usage: tests/fhir_answers.py PORT OUTFILE
  PORT     a codeset-http serving a database with ICD-10-CM FY2021 and FY2023 loaded
           (codeset load --release 2021 --effective 2020-10-01 ...; 2023 from 2022-10-01)
  OUTFILE  each request, its status and headers (but Date) and its body; timestamps and the
           server's address are masked

The requests: $validate-code of every 97th line of both order files (billable codes and
headers) by GET, with right, short, loose and wrong displays, dates inside and outside the
releases, versions, abstract; codes only in 2023 asked of 2021; fakes, malformed and hostile
codes; ValueSet checks; codings and CodeableConcepts by POST; batches of 25 and 1,000 of all
of these, with broken entries; a few $lookup, $subsumes, $expand and reads. Data is read
from $CS_SHARED_DATA (default ../shared/data). Run it against the old build and the new one
and cmp the two files.
"""
import hashlib
import http.client
import json
import os
import re
import sys
import urllib.parse

port, outp = int(sys.argv[1]), sys.argv[2]
CM = "http://hl7.org/fhir/sid/icd-10-cm"
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
out = open(outp, "w")
n = [0]


def call(method, path, body=None):
    global conn
    hdr = {"Content-Type": "application/fhir+json"} if body is not None else {}
    for attempt in range(2):
        try:
            conn.request(method, path, body=body, headers=hdr)
            r = conn.getresponse()
            data = r.read()
            break
        except (http.client.HTTPException, ConnectionError):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    hd = sorted((k.lower(), v) for k, v in r.getheaders() if k.lower() not in ("date",))
    out.write("%s %s\n%d %s\n" % (method, path if len(path) < 3000 else path[:3000] + "...",
                                  r.status, hd))
    data = data.replace(b"127.0.0.1:%d" % port, b"HOST")
    out.write(re.sub(r'"(date|timestamp)":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"', r'"\1":"T"', data.decode("utf-8", "replace")) + "\n\n")
    n[0] += 1
    return data


def q(params):
    return urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


def dotted(c):
    return c if len(c) <= 3 else c[:3] + "." + c[3:]


DATA = os.environ.get("CS_SHARED_DATA", "../shared/data")
rows = []
for year in ("2021", "2023"):
    with open("%s/icd10cm/%s/icd10cm_order_%s.txt" % (DATA, year, year),
              encoding="latin-1") as f:
        for i, line in enumerate(f):
            if i % 97 == 0:
                code = line[6:13].strip()
                short = line[16:76].strip()
                long_ = line[77:].strip()
                rows.append((dotted(code), short, long_, line[14] == "1"))
# codes only in 2023, to get not_effective in 2021
c21 = set()
with open(DATA + "/icd10cm/2021/icd10cm_order_2021.txt", encoding="latin-1") as f:
    for line in f:
        c21.add(line[6:13].strip())
new23 = []
with open(DATA + "/icd10cm/2023/icd10cm_order_2023.txt", encoding="latin-1") as f:
    for line in f:
        c = line[6:13].strip()
        if c not in c21:
            new23.append(dotted(c))
new23 = new23[::5][:150]

fakes = ["ZZZ.99", "E11.", "e11.9", "E119", "!!", "", "A" * 300, "E11.9 ", " E11.9", "U07.1",
         "E11.9\u00e9", "\u00ff\u00fe", "A00", "A00-B99", "1", "E11.9\\x", 'E11"9', "E11\t9"]

single = []  # (params) for GET
for code, short, long_, bill in rows:
    single.append({"url": CM, "code": code})
for code, short, long_, bill in rows[::4]:
    single.append({"url": CM, "code": code, "display": long_})
    single.append({"url": CM, "code": code, "display": short})
    single.append({"url": CM, "code": code, "display": "  " + long_.upper() + " "})
    single.append({"url": CM, "code": code, "display": "Wrong display \"x\" \u00e9\n"})
    single.append({"url": CM, "code": code, "date": "2021-06-01"})
    single.append({"url": CM, "code": code, "date": "2023-06-01"})
    single.append({"url": CM, "code": code, "date": "2019-06-01"})
    single.append({"url": CM, "code": code, "version": "2021"})
    single.append({"url": CM, "code": code, "version": "2099"})
    single.append({"system": CM, "code": code, "abstract": "true"})
    single.append({"url": CM, "code": code, "abstract": "false", "display": long_})
for code in new23:
    single.append({"url": CM, "code": code, "date": "2021-06-01"})
    single.append({"url": CM, "code": code, "version": "2021", "display": "x"})
    single.append({"url": CM, "code": code, "date": "2023-01-01"})
for f in fakes:
    single.append({"url": CM, "code": f})
    single.append({"url": CM, "code": f, "display": "x"})
    single.append({"url": CM + "?fhir_vs", "code": f})
single += [{"code": "E11.9"}, {"url": "http://bogus", "code": "E11.9"},
           {"url": CM, "code": "E11.9", "date": "bad"}, {"url": CM, "code": "E11.9", "date": "2021"},
           {"url": CM, "code": "E11.9", "code2": "x"}, {"url": CM},
           {"url": CM, "code": "E11.9", "coding": "x"}, {"url": "icd10cm", "code": "E11.9"},
           {"system": "icd10cm", "code": "E11.9"}]

vs = []
for code, short, long_, bill in rows[::6]:
    vs.append({"url": CM + "?fhir_vs", "code": code})
    vs.append({"url": CM + "?fhir_vs", "code": code, "system": CM})
    vs.append({"url": CM + "?fhir_vs", "code": code, "system": "http://other"})
    vs.append({"url": CM + "?fhir_vs", "code": code, "systemVersion": "2023", "display": short})
    vs.append({"url": CM + "?fhir_vs", "code": code, "abstract": "true"})
    vs.append({"url": CM + "?fhir_vs", "code": code, "version": "2021"})

for p in single:
    call("GET", "/fhir/CodeSystem/$validate-code?" + q(p))
for p in vs:
    call("GET", "/fhir/ValueSet/$validate-code?" + q(p))
# raw queries: bad utf-8, + as space, repeated
for raw in ["url=%s&code=E11%%FF" % urllib.parse.quote(CM, safe=""),
            "url=%s&code=E11.9&code=E11.8" % urllib.parse.quote(CM, safe=""),
            "url=%s&code=E11.9&display=Type+2+diabetes+mellitus+without+complications" % urllib.parse.quote(CM, safe=""),
            "url=%s&code=E11.9&display=%%E9" % urllib.parse.quote(CM, safe=""),
            "url=%s&code=E11%%2E9" % urllib.parse.quote(CM, safe=""),
            "url=%s&code=E11.9&%%FF=1" % urllib.parse.quote(CM, safe=""),
            "url=%s&code=E11.9&%%FF" % urllib.parse.quote(CM, safe=""),
            "url=%s&code=E11.9&a%%00b=1&display=%%00" % urllib.parse.quote(CM, safe="")]:
    call("GET", "/fhir/CodeSystem/$validate-code?" + raw)


def params(pl):
    return json.dumps({"resourceType": "Parameters", "parameter": pl})


# POST forms: coding, codeableConcept
for i, (code, short, long_, bill) in enumerate(rows[::5]):
    call("POST", "/fhir/CodeSystem/$validate-code", params(
        [{"name": "coding", "valueCoding": {"system": CM, "code": code, "display": short if i % 2 else "nope"}}]))
    cc = {"coding": [{"system": CM, "code": code}, {"system": "http://snomed.info/sct", "code": "123"},
                     {"system": CM, "code": "ZZZ.9" + str(i % 3)}]}
    if i % 3 == 0:
        cc["coding"].reverse()
    if i % 4 == 0:
        cc["coding"][0]["display"] = long_
        cc["coding"][0]["version"] = "2023"
    call("POST", "/fhir/CodeSystem/$validate-code", params([{"name": "codeableConcept", "valueCodeableConcept": cc}]))
    call("POST", "/fhir/ValueSet/$validate-code", params(
        [{"name": "url", "valueUri": CM + "?fhir_vs"}, {"name": "codeableConcept", "valueCodeableConcept": cc},
         {"name": "date", "valueDate": "2021-03-01" if i % 2 else "2023-03-01"}]))
call("POST", "/fhir/CodeSystem/$validate-code", "{bad json")
call("POST", "/fhir/CodeSystem/$validate-code", params([{"name": "code", "valueCode": "E11.9"}]))
call("POST", "/fhir/CodeSystem/$validate-code", params([{"name": "url", "valueUri": CM}, {"name": "code", "valueCode": "E11.9"}, {"name": "code", "valueCode": "E11.8"}]))
call("POST", "/fhir/CodeSystem/$validate-code", json.dumps({"resourceType": "Bundle"}))
call("POST", "/fhir/CodeSystem/$validate-code", params([{"name": "url", "valueUri": CM}, {"name": "codeSystem", "resource": {}}]))

# batches
allget = [("CodeSystem/$validate-code?" + q(p)) for p in single] + \
         [("ValueSet/$validate-code?" + q(p)) for p in vs]


def bundle(urls, extra=()):
    ent = [{"request": {"method": "GET", "url": u}} for u in urls] + list(extra)
    return json.dumps({"resourceType": "Bundle", "type": "batch", "entry": ent})


for i in range(0, len(allget), 25):
    call("POST", "/fhir", bundle(allget[i:i + 25]))
for i in range(0, len(allget), 1000):
    call("POST", "/fhir", bundle(allget[i:i + 1000]))
odd = [{"request": {"method": "POST", "url": "CodeSystem/$validate-code"},
        "resource": json.loads(params([{"name": "coding", "valueCoding": {"system": CM, "code": "E11.9"}}]))},
       {"request": {"method": "GET"}}, {"request": {"url": "x"}}, {},
       {"request": {"method": "GET", "url": "/fhir/"}},
       {"request": {"method": "GET", "url": "/fhir/CodeSystem/$validate-code?url=" + CM + "&code=E11.9"}},
       {"request": {"method": "GET", "url": "CodeSystem/$lookup?system=" + CM + "&code=E11.9"}},
       {"request": {"method": "DELETE", "url": "CodeSystem/$validate-code?url=" + CM + "&code=E11.9"}},
       {"request": {"method": "GET", "url": "Nope/$x"}},
       {"request": {"method": "GET", "url": "CodeSystem/$validate-code?url=%FF&code=E11.9"}},
       {"request": {"method": "GET", "url": "CodeSystem/$validate-code?url=" + CM + "&code=E11.9&date=2019-01-01"}},
       {"request": {"method": "GET", "url": "CodeSystem/$validate-code?code=E11+9&url=" + CM}},
       {"request": {"method": "GET", "url": "metadata?mode=terminology"}},
       {"request": {"method": "GET", "url": "CodeSystem/$validate-code?url=" + CM + "&code=E11.9&%FF=1"}},
       {"request": {"method": "GET", "url": "CodeSystem/$validate-code?url=" + CM + "&%FF=1&code=E11.9&%FE=2&display=x"}},
       {"request": {"method": "GET", "url": "CodeSystem/$validate-code?url=" + CM + "&code=E11.9&d%FFisplay=x&display=%C3%A9"}},
       {"request": 5}, 7]
call("POST", "/fhir", bundle(allget[:3], odd))
call("POST", "/fhir", json.dumps({"resourceType": "Bundle", "type": "batch"}))
call("POST", "/fhir", json.dumps({"resourceType": "Bundle", "type": "batch", "entry": []}))
call("POST", "/fhir", json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": []}))
call("POST", "/fhir", json.dumps({"resourceType": "Bundle", "type": "batch", "entry": {}}))
call("POST", "/fhir", bundle(allget[:1001]))
call("GET", "/fhir")
# other operations, for the shared paths
for code, short, long_, bill in rows[::40]:
    call("GET", "/fhir/CodeSystem/$lookup?" + q({"system": CM, "code": code}))
    call("GET", "/fhir/CodeSystem/$lookup?" + q({"system": CM, "code": code, "property": "parent"}))
    call("GET", "/fhir/CodeSystem/$subsumes?" + q({"system": CM, "codeA": code[:3], "codeB": code}))
for f in ["diabetes", "E11", "fracture femur"]:
    call("GET", "/fhir/ValueSet/$expand?" + q({"url": CM + "?fhir_vs", "filter": f, "count": "20"}))
call("GET", "/fhir/CodeSystem")
call("GET", "/fhir/CodeSystem/icd10cm")
call("GET", "/fhir/Nope")
call("PUT", "/fhir/CodeSystem/$validate-code")
out.close()
print("requests:", n[0])
print(hashlib.sha256(open(outp, "rb").read()).hexdigest())
