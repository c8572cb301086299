#!/usr/bin/python3
"""validate_claims.py: check the codes of a claim CSV against codesetd, then scrub each claim
(the claim edits: Excludes1, manifestation, age, sex, POA, NCCI, ...), and print each problem
with its reason.

    validate_claims.py [--connect EP]... [--timeout S] [--system S] CLAIMS.csv

The CSV has a header row with the columns claim_id, date_of_service (YYYY-MM-DD) and code, and
optionally system (default: --system, icd10cm), poa, units, modifiers (separated by spaces),
setting, age and sex (the claim's, read from its first row). Each code is validated against the
release in effect on its date of service; codes that share a system and a date go in one
request, and all requests are pipelined. Then each claim (its ICD-10-CM rows the diagnoses in
order, its other rows the procedures) goes to the claims op, and every edit but invalid_code
(already reported) is printed; --no-edits leaves that out.

Output: one line per problem,
    <claim_id> line <n>: <code>: <reason>: <message>
    <claim_id>: <edit> (<severity>): <message>
then a summary line. Exit status: 0 no problem (warnings only), 4 some problem, 3 no reply
from the broker, 2 a usage or input error.
"""

import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from codeset_client import Client, CodesetTimeout  # noqa: E402

MAX_CODES = 10000  # the protocol's limit for one validate request
MAX_CLAIMS = 10000  # the protocol's limit for one claims request


def read_claims(path, default_system):
    """Rows as dicts with line, claim_id, date, code, system. Raises ValueError on a bad file."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        need = {"claim_id", "date_of_service", "code"}
        missing = need - set(reader.fieldnames or ())
        if missing:
            raise ValueError("%s: missing column(s) %s" % (path, ", ".join(sorted(missing))))
        for row in reader:
            rows.append({
                "line": reader.line_num,
                "claim_id": (row["claim_id"] or "").strip(),
                "date": (row["date_of_service"] or "").strip(),
                "code": row["code"] or "",
                "system": (row.get("system") or "").strip() or default_system,
                "extra": {k: (row.get(k) or "").strip()
                          for k in ("poa", "units", "modifiers", "setting", "age", "sex")},
            })
    return rows


def find_problems(client, rows):
    """[(row, reason, message)] for every row whose code may not stand on its claim."""
    groups = {}
    for row in rows:
        groups.setdefault((row["system"], row["date"]), []).append(row)
    requests, members = [], []
    for (system, date), group in groups.items():
        for start in range(0, len(group), MAX_CODES):
            chunk = group[start:start + MAX_CODES]
            req = {"op": "validate", "system": system, "codes": [r["code"] for r in chunk]}
            if date:
                req["date"] = date
            requests.append(req)
            members.append(chunk)
    problems = []
    for chunk, reply in zip(members, client.pipeline(requests)):
        if reply.get("ok") is not True:
            err = reply.get("error") or {}
            for row in chunk:
                problems.append((row, err.get("code", "error"), err.get("message", "")))
            continue
        for row, res in zip(chunk, reply.get("results", [])):
            if res.get("valid"):
                continue
            message = res.get("message", "")
            if res.get("replaced_by"):
                message += " (replaced by %s)" % ", ".join(res["replaced_by"])
            problems.append((row, res.get("reason", "invalid"), message))
    problems.sort(key=lambda p: p[0]["line"])
    return problems


def build_claims(rows):
    """[(claim_id, claim dict)] in order of first appearance."""
    claims, order = {}, []
    for row in rows:
        cid = row["claim_id"]
        if cid not in claims:
            order.append(cid)
            claims[cid] = {"date": row["date"], "diagnoses": [], "procedures": []}
            x = row["extra"]
            if x["setting"]:
                claims[cid]["setting"] = x["setting"]
            patient = {}
            if x["age"].isdigit():
                patient["age"] = int(x["age"])
            if x["sex"]:
                patient["sex"] = x["sex"]
            if patient:
                claims[cid]["patient"] = patient
        c, x = claims[cid], row["extra"]
        if row["system"] == "icd10cm":
            c["diagnoses"].append({"code": row["code"].strip(), "poa": x["poa"]})
        else:
            p = {"system": row["system"], "code": row["code"].strip()}
            if x["units"].isdigit():
                p["units"] = int(x["units"])
            if x["modifiers"]:
                p["modifiers"] = x["modifiers"].split()
            c["procedures"].append(p)
    return [(cid, claims[cid]) for cid in order if claims[cid]["diagnoses"]]


def find_edits(client, rows):
    """[(claim_id, edit, severity, message, refused)] for every edit but invalid_code; a claim
    the broker refused (refused True) has its error code in place of the edit."""
    claims = build_claims(rows)
    requests = [{"op": "claims", "claims": [c for _, c in claims[i:i + MAX_CLAIMS]]}
                for i in range(0, len(claims), MAX_CLAIMS)]
    edits = []
    for start, reply in zip(range(0, len(claims), MAX_CLAIMS), client.pipeline(requests)):
        ids = [cid for cid, _ in claims[start:start + MAX_CLAIMS]]
        if reply.get("ok") is not True:
            err = reply.get("error") or {}
            edits += [(cid, err.get("code", "error"), "error", err.get("message", ""), True)
                      for cid in ids]
            continue
        for cid, res in zip(ids, reply.get("results", [])):
            if res.get("ok") is not True:
                err = res.get("error") or {}
                edits.append((cid, err.get("code", "error"), "error", err.get("message", ""),
                              True))
                continue
            edits += [(cid, e["edit"], e["severity"], e["message"], False)
                      for e in res.get("edits", []) if e.get("edit") != "invalid_code"]
    return edits


def main(argv=None):
    ap = argparse.ArgumentParser(description="Validate the codes of a claim CSV.")
    ap.add_argument("--connect", action="append", metavar="EP",
                    help="broker query endpoint (repeatable; default tcp://127.0.0.1:5555)")
    ap.add_argument("--timeout", type=float, default=2.5, help="seconds per try")
    ap.add_argument("--system", default="icd10cm", help="system of rows without one")
    ap.add_argument("--no-edits", action="store_true", help="validate the codes only")
    ap.add_argument("csv", help="the claims file")
    args = ap.parse_args(argv)
    try:
        rows = read_claims(args.csv, args.system)
    except (OSError, ValueError, csv.Error) as e:
        print("validate_claims: %s" % e, file=sys.stderr)
        return 2
    with Client(args.connect or ["tcp://127.0.0.1:5555"], timeout=args.timeout) as client:
        try:
            problems = find_problems(client, rows)
            edits = [] if args.no_edits else find_edits(client, rows)
        except CodesetTimeout as e:
            print("validate_claims: %s" % e.message, file=sys.stderr)
            return 3
    for row, reason, message in problems:
        print("%s line %d: %s: %s: %s" % (row["claim_id"], row["line"], row["code"].strip(),
                                          reason, message))
    # a claim refused for what validate already reported (a code of no release) is said once
    coded = {p[0]["claim_id"] for p in problems}
    edits = [e for e in edits if not (e[4] and e[0] in coded)]
    for cid, edit, severity, message, _ in edits:
        print("%s: %s (%s): %s" % (cid, edit, severity, message))
    claims = {r["claim_id"] for r in rows}
    errors = [e for e in edits if e[2] == "error"]
    bad = {p[0]["claim_id"] for p in problems} | {e[0] for e in errors}
    print("%d code(s) on %d claim(s): %d problem(s), %d edit(s) (%d error(s)) on %d claim(s)"
          % (len(rows), len(claims), len(problems), len(edits), len(errors), len(bad)))
    return 4 if problems or errors else 0


if __name__ == "__main__":
    sys.exit(main())
