"""Tests of codeset_client.py and validate_claims.py against a real codesetd.

The broker is the one built in $CS_BUILD_DIR (default: build/ at the repository root); it runs
on a temporary LMDB directory with ipc:// endpoints there, and the sample ICD-10-CM release is
loaded through its admin endpoint. Run: CS_BUILD_DIR=... /usr/bin/python3 -m unittest
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from codeset_client import Client, CodesetError, CodesetTimeout  # noqa: E402

BUILD = os.environ.get("CS_BUILD_DIR") or os.path.join(ROOT, "build")
SAMPLE = os.path.join(ROOT, "loaders", "icd10cm-tabular", "sample")
CLAIMS = os.path.join(HERE, "tests", "claims.csv")


class Broker:
    """A codesetd on a fresh temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cs-py-")
        self.db = os.path.join(self.dir, "db")
        self.query = "ipc://%s/query.sock" % self.dir
        self.admin = "ipc://%s/admin.sock" % self.db
        self.log = open(os.path.join(self.dir, "codesetd.log"), "wb")
        exe = os.path.join(BUILD, "bin", "codesetd")
        self.proc = subprocess.Popen(
            [exe, "--db", self.db, "--listen", self.query, "--admin", self.admin],
            stdout=subprocess.DEVNULL, stderr=self.log)
        with Client(self.query, timeout=0.2, tries=50) as c:
            c.ping()  # waits up to 10 s for the broker to come up

    def load_sample(self):
        files = [os.path.join(SAMPLE, "icd10cm_tabular_sample.xml"),
                 os.path.join(SAMPLE, "icd10cm_order_sample.txt")]
        with Client(self.admin, timeout=5) as adm:
            job = adm.request({"op": "load", "files": files, "release": "S",
                               "effective_from": "2020-10-01"})["job"]
            for _ in range(600):
                state = adm.request({"op": "job", "job": job})
                if state["state"] != "running":
                    break
                time.sleep(0.05)
        if state["state"] != "done":
            raise RuntimeError("sample load ended %r" % state)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def setUpModule():
    global BROKER
    if not os.access(os.path.join(BUILD, "bin", "codesetd"), os.X_OK):
        raise unittest.SkipTest("no codesetd in %s (build first, or set CS_BUILD_DIR)" % BUILD)
    BROKER = Broker()
    try:
        BROKER.load_sample()
    except Exception:
        BROKER.stop()
        raise


def tearDownModule():
    BROKER.stop()


class CallsTest(unittest.TestCase):
    def setUp(self):
        self.c = Client(BROKER.query, timeout=5)

    def tearDown(self):
        self.c.close()

    def test_ping(self):
        r = self.c.ping()
        self.assertIs(r["ok"], True)
        self.assertEqual(r["protocol"], 1)
        self.assertTrue(r["version"])

    def test_lookup(self):
        r = self.c.lookup("icd10cm", "e119", include=["ancestors", "notes", "children"])
        self.assertIs(r["found"], True)
        self.assertEqual(r["code"], "E11.9")
        self.assertEqual(r["input"], "e119")
        self.assertEqual(r["release"], "S")
        self.assertIs(r["billable"], True)
        self.assertEqual(r["parent"], "E11")
        self.assertEqual(r["ancestors"][0]["code"], "E11")
        self.assertEqual(r["ancestors"][-1]["kind"], "chapter")
        r = self.c.lookup("icd10cm", "E11", include=["children", "notes"], date="2021-03-01")
        self.assertIs(r["billable"], False)
        self.assertTrue(all(k["code"].startswith("E11.") for k in r["children"]))
        self.assertIn("diabetes NOS", r["notes"]["includes"])
        r = self.c.lookup("icd10cm", "I10", release="S")
        self.assertNotIn("children", r)

    def test_lookup_not_found_and_malformed(self):
        r = self.c.lookup("icd10cm", "E11.99")
        self.assertIs(r["ok"], True)
        self.assertIs(r["found"], False)
        r = self.c.lookup("icd10cm", "E1!")
        self.assertIs(r["found"], False)
        self.assertEqual(r["reason"], "malformed")

    def test_validate(self):
        r = self.c.validate("icd10cm", ["E11.9", "E11", "A00.00", "XYZ", " e11.9 ", "S72.001"],
                            date="2021-03-01")
        self.assertEqual(r["release"], "S")
        res = r["results"]
        self.assertEqual(len(res), 6)
        self.assertIs(res[0]["valid"], True)
        self.assertEqual(res[1]["reason"], "not_billable")
        self.assertIn("E11.9", res[1]["hint"])
        self.assertIn("E11 is a header", res[1]["message"])
        self.assertEqual(res[2]["reason"], "unknown")
        self.assertEqual(res[3]["reason"], "malformed")
        self.assertEqual(res[4]["code"], "E11.9")
        self.assertIn("7th character", res[5]["message"])
        self.assertEqual(len(self.c.validate("icd10cm", "I10")["results"]), 1)

    def test_search(self):
        r = self.c.search("icd10cm", "diabetes", limit=3, billable_only=True)
        self.assertEqual(len(r["hits"]), 3)
        self.assertGreater(r["total"], 3)
        self.assertTrue(all(h["billable"] for h in r["hits"]))
        page2 = self.c.search("icd10cm", "diabetes", limit=3, offset=1, billable_only=True)
        self.assertEqual(page2["hits"][0]["code"], r["hits"][1]["code"])
        r = self.c.search("icd10cm", "e11.6")
        self.assertTrue(r["hits"])
        self.assertTrue(all(h["code"].startswith("E11.6") for h in r["hits"]))

    def test_releases(self):
        r = self.c.releases()
        self.assertEqual(len(r["releases"]), 1)
        rel = r["releases"][0]
        self.assertEqual((rel["system"], rel["release"]), ("icd10cm", "S"))
        self.assertEqual(rel["effective_from"], "2020-10-01")
        self.assertIsNone(rel["effective_to"])
        self.assertEqual(rel["status"], "active")
        self.assertEqual(len(rel["source"]["files"]), 2)
        self.assertEqual(len(self.c.releases("icd10cm")["releases"]), 1)

    def test_crosswalk(self):
        # served or not yet, the outcome is a reply or a CodesetError with a protocol code
        try:
            r = self.c.crosswalk("icd9cm", "icd10cm", "250.00")
            self.assertIn("targets", r)
        except CodesetError as e:
            self.assertIn(e.code, ("unknown_op", "unknown_system", "unknown_release"))
            self.assertTrue(e.message)

    def test_error_reply(self):
        with self.assertRaises(CodesetError) as cm:
            self.c.lookup("nope", "E11.9")
        self.assertEqual(cm.exception.code, "unknown_system")
        self.assertIn("nope", cm.exception.message)
        self.assertIs(cm.exception.reply["ok"], False)
        self.assertNotIsInstance(cm.exception, CodesetTimeout)
        with self.assertRaises(CodesetError) as cm:
            self.c.validate("icd10cm", ["E11.9"], date="2019-01-01")
        self.assertEqual(cm.exception.code, "no_release_for_date")
        with self.assertRaises(CodesetError) as cm:
            self.c.request({"op": "frobnicate"})
        self.assertEqual(cm.exception.code, "unknown_op")

    def test_pipeline(self):
        codes = ["e119", "i10", "E11.99", "M48.40XS"]
        reqs = [{"op": "lookup", "system": "icd10cm", "code": codes[i % 4]} for i in range(1000)]
        reqs[500] = {"op": "lookup", "system": "nope", "code": "E11"}
        replies = self.c.pipeline(reqs)
        self.assertEqual(len(replies), 1000)
        want = {"e119": "E11.9", "i10": "I10", "E11.99": "E11.99", "M48.40XS": "M48.40XS"}
        for i, r in enumerate(replies):
            if i == 500:
                self.assertEqual(r["error"]["code"], "unknown_system")
            else:
                self.assertEqual(r["code"], want[codes[i % 4]], "reply %d" % i)
        self.assertEqual(self.c.reconnects, 0)


class LazyPirateTest(unittest.TestCase):
    def test_dead_endpoint_times_out(self):
        d = tempfile.mkdtemp(prefix="cs-py-dead-")
        try:
            with Client("ipc://%s/nobody.sock" % d, timeout=0.2, tries=3) as c:
                t0 = time.monotonic()
                with self.assertRaises(CodesetTimeout) as cm:
                    c.ping()
                took = time.monotonic() - t0
                self.assertEqual(cm.exception.code, "timeout")
                self.assertEqual(c.reconnects, 3)
                self.assertGreaterEqual(took, 0.55)
                self.assertLess(took, 3)
            # dead first, live second: answered at once, no retry
            with Client(["ipc://%s/nobody.sock" % d, BROKER.query], timeout=2, tries=3) as c:
                for _ in range(10):
                    self.assertEqual(c.lookup("icd10cm", "i10")["code"], "I10")
                self.assertEqual(c.reconnects, 0)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_wedged_broker_mid_run(self):
        other = Broker()
        try:
            other.load_sample()
            with Client([other.query, BROKER.query], timeout=0.3, tries=5) as c:
                c.ping()
                time.sleep(0.1)
                os.kill(other.proc.pid, signal.SIGSTOP)  # alive, but it never answers
                try:
                    reqs = [{"op": "lookup", "system": "icd10cm", "code": "I10"}] * 400
                    replies = c.pipeline(reqs)
                finally:
                    os.kill(other.proc.pid, signal.SIGCONT)
                self.assertTrue(all(r["code"] == "I10" for r in replies))
                self.assertGreaterEqual(c.reconnects, 1)
        finally:
            other.stop()

    def test_claim_and_claims(self):
        with Client(BROKER.query) as c:
            r = c.claim({"date": "2021-03-01", "diagnoses": [{"code": "E11.9"},
                                                             {"code": "E11.9"}]})
            self.assertFalse(r["clean"])
            self.assertEqual(r["edits"][0]["edit"], "duplicate_code")
            self.assertEqual(r["edits"][0]["lines"], [0, 1])
            b = c.claims([{"date": "2021-03-01", "diagnoses": [{"code": "E11.9"}]},
                          {"date": "1999-01-01", "diagnoses": [{"code": "E11.9"}]}])
            self.assertTrue(b["results"][0]["clean"])
            self.assertEqual(b["results"][1]["error"]["code"], "no_release_for_date")
            with self.assertRaises(CodesetError) as cm:
                c.claim({"date": "2021-03-01", "diagnoses": []})
            self.assertEqual(cm.exception.code, "bad_request")

    def test_bad_arguments(self):
        with self.assertRaises(ValueError):
            Client([])
        with self.assertRaises(ValueError):
            Client("nonsense://x")


class ValidateClaimsTest(unittest.TestCase):
    def run_script(self, *args):
        return subprocess.run(
            [sys.executable, os.path.join(HERE, "validate_claims.py"), *args],
            capture_output=True, text=True, timeout=60)

    def test_claims_fixture(self):
        p = self.run_script("--connect", BROKER.query, CLAIMS)
        self.assertEqual(p.returncode, 4, p.stderr)
        lines = p.stdout.splitlines()
        problems = [ln for ln in lines if " line " in ln]
        self.assertEqual(len(problems), 5, p.stdout)
        self.assertTrue(problems[0].startswith("C1 line 3: E11: not_billable: E11 is a header"))
        self.assertTrue(problems[1].startswith("C2 line 4: A00.00: unknown: "))
        self.assertTrue(problems[2].startswith("C2 line 5: XYZ: malformed: "))
        self.assertTrue(problems[3].startswith("C3 line 6: E11.9: no_release_for_date: "))
        self.assertTrue(problems[4].startswith("C4 line 8: S72.001: not_billable: "))
        self.assertIn("7th character", problems[4])
        self.assertEqual(lines[-1], "8 code(s) on 5 claim(s): 5 problem(s), 0 edit(s) "
                                    "(0 error(s)) on 4 claim(s)")

    def test_clean_file_and_errors(self):
        d = tempfile.mkdtemp(prefix="cs-py-claims-")
        try:
            clean = os.path.join(d, "clean.csv")
            with open(clean, "w") as f:
                f.write("claim_id,date_of_service,code\nX1,2021-03-01,E11.9\nX1,2021-03-01,I10\n")
            p = self.run_script("--connect", BROKER.query, clean)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("0 problem(s)", p.stdout)
            dup = os.path.join(d, "dup.csv")
            with open(dup, "w") as f:
                f.write("claim_id,date_of_service,code\nX2,2021-03-01,E11.9\n"
                        "X2,2021-03-01,e119\n")
            p = self.run_script("--connect", BROKER.query, dup)
            self.assertEqual(p.returncode, 4, p.stdout)
            self.assertIn("X2: duplicate_code (error): E11.9 is listed twice", p.stdout)
            p = self.run_script("--connect", BROKER.query, "--no-edits", dup)
            self.assertEqual(p.returncode, 0, p.stdout)
            bad = os.path.join(d, "bad.csv")
            with open(bad, "w") as f:
                f.write("claim,code\nX1,E11.9\n")
            p = self.run_script("--connect", BROKER.query, bad)
            self.assertEqual(p.returncode, 2)
            self.assertIn("date_of_service", p.stderr)
            p = self.run_script("--connect", "ipc://%s/nobody.sock" % d, "--timeout", "0.1",
                                clean)
            self.assertEqual(p.returncode, 3)
            self.assertIn("no reply", p.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
