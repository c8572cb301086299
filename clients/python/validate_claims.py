#!/usr/bin/python3
"""validate_claims.py: check the codes of a claim CSV against codesetd and print each problem
with its reason.

    validate_claims.py [--connect EP]... [--timeout S] [--system S] CLAIMS.csv

The CSV has a header row with the columns claim_id, date_of_service (YYYY-MM-DD) and code, and
optionally system (default: --system, icd10cm). Each code is validated against the release in
effect on its date of service; codes that share a system and a date go in one request, and all
requests are pipelined.

Output: one line per problem,
    <claim_id> line <n>: <code>: <reason>: <message>
then a summary line. Exit status: 0 no problem, 4 some problem, 3 no reply from the broker,
2 a usage or input error.
"""

import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from codeset_client import Client, CodesetTimeout  # noqa: E402

MAX_CODES = 10000  # the protocol's limit for one validate request


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


def main(argv=None):
    ap = argparse.ArgumentParser(description="Validate the codes of a claim CSV.")
    ap.add_argument("--connect", action="append", metavar="EP",
                    help="broker query endpoint (repeatable; default tcp://127.0.0.1:5555)")
    ap.add_argument("--timeout", type=float, default=2.5, help="seconds per try")
    ap.add_argument("--system", default="icd10cm", help="system of rows without one")
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
        except CodesetTimeout as e:
            print("validate_claims: %s" % e.message, file=sys.stderr)
            return 3
    for row, reason, message in problems:
        print("%s line %d: %s: %s: %s" % (row["claim_id"], row["line"], row["code"].strip(),
                                          reason, message))
    claims = {r["claim_id"] for r in rows}
    bad = {p[0]["claim_id"] for p in problems}
    print("%d code(s) on %d claim(s): %d problem(s) on %d claim(s)"
          % (len(rows), len(claims), len(problems), len(bad)))
    return 4 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
