"""Tests of codeset_client.py's asynchronous calls (lookup_async, validate_async) against a real
codesetd with the sample release: the same answers as the synchronous calls, coalesced into
batch messages; a broker without the batch op; a broker killed with calls in flight.
Run as test_codeset_client.py is: CS_BUILD_DIR=... /usr/bin/python3 -m unittest
"""

import concurrent.futures
import os
import signal
import sys
import threading
import unittest

import msgpack
import zmq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from codeset_client import Call, Client, CodesetError, CodesetTimeout  # noqa: E402
from test_codeset_client import BUILD, SAMPLE, Broker  # noqa: E402


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


def sample_requests():
    """Every code of the sample order file as found, lower case without its dot, its header,
    a code not in the release and a malformed one; lookups and validates, pinned by release,
    by date or neither; one with an unknown system now and then."""
    reqs = []
    with open(os.path.join(SAMPLE, "icd10cm_order_sample.txt")) as f:
        codes = [line.split()[1] for line in f if line.strip()]
    for code in codes:
        for text in (code, code.lower(), code[:3], code[:3] + ".9Z9", "1" + code + "!"):
            k = len(reqs)
            system = "nosuchsystem" if k % 97 == 5 else "icd10cm"
            if k % 3 == 1:
                req = {"op": "validate", "system": system, "codes": [text, "E11.9"]}
            else:
                req = {"op": "lookup", "system": system, "code": text}
                if k % 7 == 0:
                    req["include"] = ["children", "ancestors"]
            if k % 4 == 0:
                req["release"] = "S"
            elif k % 4 == 1:
                req["date"] = ("2020-10-01", "2021-03-01", "2019-01-01")[k % 3]
            reqs.append(req)
    return reqs


def served(endpoint, op):
    with Client(endpoint, timeout=5) as c:
        return c.request({"op": "stats"})["requests"].get(op, 0)


def answer(fn):
    """("ok", reply without its id) or ("error", code) of a call: the id is the message's, and
    a call's plain request and a batch item carry different ones."""
    try:
        return ("ok", {k: v for k, v in fn().items() if k != "id"})
    except CodesetError as e:
        return ("error", e.code)


class AsyncTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.reqs = sample_requests()
        with Client(BROKER.query, timeout=5) as c:
            cls.expect = [answer(lambda r=r: c.request(r)) for r in cls.reqs]

    def test_equals_sync(self):
        self.assertGreaterEqual(len(self.reqs), 500)
        batches = served(BROKER.query, "batch")
        with Client(BROKER.query, timeout=5) as c:
            calls = [c.call_async(r) for r in self.reqs]
            self.assertTrue(all(isinstance(k, Call) and not k.done() for k in calls))
            self.assertEqual(c.outstanding, len(calls))
            # waited for in reverse order: each gets its own reply
            got = [answer(k.result) for k in reversed(calls)][::-1]
            self.assertEqual(c.outstanding, 0)
            self.assertTrue(c.coalescing)
        self.assertEqual(got, self.expect)
        self.assertEqual(served(BROKER.query, "batch") - batches, (len(self.reqs) + 63) // 64)
        self.assertIn(("error", "unknown_system"), got)

    def test_helpers_and_interleaving(self):
        with Client(BROKER.query, timeout=5, coalesce=7) as c:
            a = c.lookup_async("icd10cm", "e119")
            b = c.validate_async("icd10cm", ["E11", "XYZ"], date="2021-03-01")
            d = c.lookup_async("nosuchsystem", "E11.9")
            # a synchronous call in between: the calls' replies are not lost
            self.assertEqual(c.lookup("icd10cm", "I10")["code"], "I10")
            c.flush()
            e = c.lookup_async("icd10cm", "E11", release="S")
            c.wait_all()
            self.assertEqual(a.result()["code"], "E11.9")
            self.assertEqual([r["reason"] for r in b.result()["results"]],
                             ["not_billable", "malformed"])
            self.assertIsInstance(d.exception(), CodesetError)
            self.assertEqual(d.exception().code, "unknown_system")
            self.assertIs(e.result()["billable"], False)
            # the futures are standard ones
            done, _ = concurrent.futures.wait([a, b, e], timeout=0)
            self.assertEqual(len(done), 3)

    def test_older_broker(self):
        """A broker of before the batch op, as a client sees one: a ROUTER in front of the
        real broker that answers "batch" unknown_op and hands every other request on."""
        ctx = zmq.Context()
        front = ctx.socket(zmq.ROUTER)
        ep = "ipc://%s/old.sock" % BROKER.dir
        front.bind(ep)
        back = ctx.socket(zmq.DEALER)
        back.connect(BROKER.query)
        stop = threading.Event()
        refused = []

        def proxy():
            poller = zmq.Poller()
            poller.register(front, zmq.POLLIN)
            poller.register(back, zmq.POLLIN)
            while not stop.is_set():
                for sock, _ in poller.poll(50):
                    if sock is back:
                        front.send_multipart(back.recv_multipart())
                        continue
                    ident, body = front.recv_multipart()
                    req = msgpack.unpackb(body, raw=False)
                    if req.get("op") == "batch":
                        refused.append(req["id"])
                        front.send_multipart([ident, msgpack.packb(
                            {"ok": False, "id": req["id"],
                             "error": {"code": "unknown_op",
                                       "message": 'unknown op "batch"'}})])
                    else:
                        back.send_multipart([ident, body])

        t = threading.Thread(target=proxy)
        t.start()
        try:
            with Client(ep, timeout=5) as c:
                calls = [c.call_async(r) for r in self.reqs[:200]]
                c.wait_all()
                self.assertFalse(c.coalescing)
                self.assertEqual([answer(k.result) for k in calls], self.expect[:200])
                tried = len(refused)
                self.assertGreaterEqual(tried, 1)
                calls = [c.call_async(r) for r in self.reqs[:50]]
                self.assertEqual([answer(k.result) for k in calls], self.expect[:50])
                self.assertEqual(len(refused), tried)  # alone from then on
        finally:
            stop.set()
            t.join()
            front.close(0)
            back.close(0)
            ctx.term()


class KilledTest(unittest.TestCase):
    def test_broker_killed_mid_flight(self):
        b = Broker()
        try:
            b.load_sample()
            reqs = sample_requests()
            with Client(b.query, timeout=0.3, tries=2) as c:
                calls = [c.call_async(r) for r in reqs]
                c.flush()
                b.proc.send_signal(signal.SIGKILL)
                b.proc.wait()
                outcomes = [answer(k.result) for k in calls]
                self.assertEqual(c.outstanding, 0)
                self.assertTrue(all(k.done() for k in calls))
                self.assertIn(("error", "timeout"), outcomes)
                self.assertIsInstance(calls[-1].exception(), CodesetTimeout)
        finally:
            b.stop()


if __name__ == "__main__":
    unittest.main()
