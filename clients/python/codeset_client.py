"""codeset_client: a small Python client for codesetd (wire protocol version 1, PROTOCOL.md).

It needs only Debian's python3-zmq and python3-msgpack.

    from codeset_client import Client, CodesetError
    with Client("tcp://127.0.0.1:5555") as c:
        r = c.lookup("icd10cm", "e119")             # the reply map, as a dict
        print(r["code"], r["found"] and r["title"])
        v = c.validate("icd10cm", ["E11.9", "E11"], date="2021-03-01")
        for res in v["results"]:
            print(res["input"], res["valid"], res.get("reason"), res.get("message"))

Every call returns the broker's reply map (a dict with str keys, see PROTOCOL.md). An error
reply raises CodesetError carrying the protocol's error code and message. No reply within
`timeout` seconds: the client closes its socket, opens a new one and resends (the "Lazy Pirate"
pattern), and after `tries` such timeouts raises CodesetTimeout (a CodesetError with code
"timeout").

One DEALER socket connects to every endpoint given; ZeroMQ spreads requests over the brokers
that are up. Requests carry an "id" and replies are matched by it. A Client is not thread-safe:
use one per thread.
"""

import itertools
import time

import msgpack
import zmq

__all__ = ["Client", "CodesetError", "CodesetTimeout", "PROTOCOL_VERSION"]

PROTOCOL_VERSION = 1


class CodesetError(Exception):
    """An error reply from the broker (or, for CodesetTimeout, no reply at all).

    code: the protocol's error code ("unknown_system", "no_release_for_date", ...)
    message: the broker's sentence
    reply: the whole reply map (None for a timeout)
    """

    def __init__(self, code, message, reply=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.reply = reply


class CodesetTimeout(CodesetError):
    """No broker answered after every try."""

    def __init__(self, message):
        super().__init__("timeout", message, None)


def _when(req, release, date):
    if release is not None:
        req["release"] = release
    if date is not None:
        req["date"] = date
    return req


class Client:
    """A client of one or several codesetd query endpoints.

    endpoints: one ZeroMQ endpoint string or a list of them.
    timeout: seconds to wait for a reply before reconnecting and resending.
    tries: timeouts in a row (with no reply in between) before CodesetTimeout.
    context: a zmq.Context to share, or None for the process-wide one.
    """

    def __init__(self, endpoints, timeout=2.5, tries=3, context=None, window=256):
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        self.endpoints = list(endpoints)
        if not self.endpoints:
            raise ValueError("no endpoint given")
        if tries < 1 or timeout <= 0:
            raise ValueError("tries must be at least 1 and timeout positive")
        self.timeout = timeout
        self.tries = tries
        self.window = window
        self.reconnects = 0  # sockets given up after a timeout, over this client's life
        self._ctx = context or zmq.Context.instance()
        self._ids = itertools.count(1)
        self._sock = None
        self._open()

    # ---- socket ----

    def _open(self):
        s = self._ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        # Queue nothing for an endpoint whose connection is not up: a dead broker then
        # swallows no requests.
        s.setsockopt(zmq.IMMEDIATE, 1)
        try:
            for ep in self.endpoints:
                s.connect(ep)
        except zmq.ZMQError as e:
            s.close(0)
            raise ValueError("cannot connect to %s: %s" % (ep, e)) from None
        self._sock = s

    def close(self):
        """Close the socket; pending requests are dropped."""
        if self._sock is not None:
            self._sock.close(0)
            self._sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- requests ----

    def pipeline(self, requests):
        """Send many request maps at once (pipelined) and return their replies, in the same
        order. An error reply is returned as it is (ok false), not raised. Raises
        CodesetTimeout when some requests are still unanswered after every try."""
        reqs = [dict(r) for r in requests]
        base = next(self._ids)
        # reserve one id per request, so ids never repeat within this client
        self._ids = itertools.count(base + len(reqs))
        for i, r in enumerate(reqs):
            r["id"] = base + i
        bodies = [msgpack.packb(r, use_bin_type=True) for r in reqs]
        replies = [None] * len(reqs)
        unsent = list(range(len(reqs)))
        unsent.reverse()  # pop() from the end sends in order
        in_flight = 0
        missing = len(reqs)
        timeouts = 0
        if self._sock is None:
            self._open()
        deadline = time.monotonic() + self.timeout
        while missing:
            blocked = False
            while unsent and in_flight < self.window:
                i = unsent[-1]
                if replies[i] is not None:
                    unsent.pop()
                    continue
                try:
                    self._sock.send(bodies[i], zmq.DONTWAIT)
                except zmq.Again:
                    blocked = True
                    break
                unsent.pop()
                in_flight += 1
            flags = zmq.POLLIN | (zmq.POLLOUT if blocked else 0)
            wait = max(0.0, deadline - time.monotonic())
            events = self._sock.poll(int(wait * 1000), flags)
            got = 0
            if events & zmq.POLLIN:
                while True:
                    try:
                        frames = self._sock.recv_multipart(zmq.DONTWAIT)
                    except zmq.Again:
                        break
                    reply = self._decode(frames[-1])
                    if reply is None:
                        continue
                    rid = reply.get("id")
                    if len(reqs) == 1 and rid is None:
                        rid = base  # a broker that could not read the id answers the one request
                    if not isinstance(rid, int) or not base <= rid < base + len(reqs):
                        continue  # a stale reply to an earlier call
                    i = rid - base
                    if replies[i] is None:
                        replies[i] = reply
                        missing -= 1
                        in_flight -= 1
                        got += 1
            if got:
                timeouts = 0
                deadline = time.monotonic() + self.timeout
            if missing and time.monotonic() >= deadline:
                # Lazy Pirate: a reply may be lost for good; start over on a fresh socket and
                # resend whatever is unanswered.
                self.close()
                self.reconnects += 1
                timeouts += 1
                if timeouts >= self.tries:
                    raise CodesetTimeout(
                        "%d of %d requests got no reply from %s after %d tries of %g s"
                        % (missing, len(reqs), ", ".join(self.endpoints), self.tries,
                           self.timeout))
                self._open()
                unsent = [i for i in reversed(range(len(reqs))) if replies[i] is None]
                in_flight = 0
                deadline = time.monotonic() + self.timeout
        return replies

    @staticmethod
    def _decode(body):
        try:
            reply = msgpack.unpackb(body, raw=False, strict_map_key=False)
        except Exception:  # garbage cannot be matched to a request: drop it
            return None
        return reply if isinstance(reply, dict) else None

    def request(self, req):
        """Send one request map and return the reply map; raise CodesetError on an error
        reply and CodesetTimeout when no broker answers."""
        reply = self.pipeline([req])[0]
        if reply.get("ok") is not True:
            err = reply.get("error") or {}
            raise CodesetError(err.get("code", "internal"),
                               err.get("message", "the broker answered with an error"), reply)
        return reply

    # ---- the protocol's query ops ----

    def ping(self):
        """{"ok", "version", "protocol"}"""
        return self.request({"op": "ping"})

    def lookup(self, system, code, include=(), release=None, date=None):
        """One code; include any of "notes", "children", "ancestors". A code the release does
        not hold answers found=False (reason "malformed" when it is not of the syntax)."""
        req = {"op": "lookup", "system": system, "code": code}
        if include:
            req["include"] = list(include)
        return self.request(_when(req, release, date))

    def validate(self, system, codes, release=None, date=None):
        """Many codes (at most 10,000); reply["results"] has one map per code, in order, with
        "valid" and, when invalid, "reason" and "message" (and "hint" for not_billable)."""
        if isinstance(codes, str):
            codes = [codes]
        req = {"op": "validate", "system": system, "codes": list(codes)}
        return self.request(_when(req, release, date))

    def search(self, system, q, limit=None, offset=None, billable_only=False, release=None,
               date=None):
        """Ranked hits for q: {"release", "total", "hits": [{code, title, billable, score}]}"""
        req = {"op": "search", "system": system, "q": q}
        if limit is not None:
            req["limit"] = limit
        if offset is not None:
            req["offset"] = offset
        if billable_only:
            req["billable_only"] = True
        return self.request(_when(req, release, date))

    def crosswalk(self, from_system, to_system, code, map_id=None, release=None,
                  to_release=None):
        """Targets of code mapped from one system to another: {"map", "code", "targets"}"""
        req = {"op": "crosswalk", "from": from_system, "to": to_system, "code": code}
        if map_id is not None:
            req["map"] = map_id
        if release is not None:
            req["release"] = release
        if to_release is not None:
            req["to_release"] = to_release
        return self.request(req)

    def claim(self, claim):
        """Scrub one claim (a dict: date, diagnoses, and optionally setting, patient,
        procedures; docs/PROTOCOL.md): {"clean", "releases", "lines", "edits", "skipped"}."""
        req = dict(claim)
        req["op"] = "claim"
        return self.request(req)

    def claims(self, claims):
        """Scrub a batch (at most 10,000 claims): {"results": [one claim reply per claim]}; a
        claim the broker refuses is {"ok": False, "error": ...} in its place."""
        return self.request({"op": "claims", "claims": [dict(c) for c in claims]})

    def releases(self, system=None):
        """{"releases": [{system, release, effective_from, effective_to, status, ...}]}"""
        req = {"op": "releases"}
        if system is not None:
            req["system"] = system
        return self.request(req)
