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

Asynchronous calls: lookup_async() and validate_async() return at once with a Call, a
concurrent.futures.Future of the reply map. Calls waiting together go out coalesced, up to
`coalesce` of them in one "batch" message (PROTOCOL.md), whose reply carries each call's reply
exactly as it would come alone; a lone call goes out as a plain request.

    calls = [c.lookup_async("icd10cm", code) for code in codes]
    for call in calls:
        r = call.result()          # the reply map, or raises CodesetError
        print(r["code"], r["found"])

Why futures, and driven ones: the client has no thread of its own, so a call is answered when
someone waits: call.result() (or exception()), c.wait(call) or c.wait_all() send what waits
and read replies until it is answered, answering every other call whose reply comes meanwhile.
A call already answered costs nothing to read. An asyncio program runs c.wait_all in an
executor (loop.run_in_executor) and then reads the calls. A broker without the batch op
answers it unknown_op: the client then sends those calls, and every later one, alone
(c.coalescing turns False).
"""

import concurrent.futures
import itertools
import time

import msgpack
import zmq

__all__ = ["Call", "Client", "CodesetError", "CodesetTimeout", "PROTOCOL_VERSION"]

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


def _error_of(reply):
    err = reply.get("error") or {}
    return CodesetError(err.get("code", "internal"),
                        err.get("message", "the broker answered with an error"), reply)


class Call(concurrent.futures.Future):
    """The answer to come of an asynchronous call: a concurrent.futures.Future whose result is
    the reply map (or whose exception is the CodesetError of an error reply, CodesetTimeout
    when no broker answered). Waiting on it drives its client (see the module's notes)."""

    def __init__(self, client, req, seq):
        super().__init__()
        self._client = client
        self._req = req
        self._seq = seq        # the order calls were made in
        self._alone = False    # never coalesced again (a batch holding it was too long)

    def result(self, timeout=None):
        """The reply map (or raises). timeout is not used: the client's own timeout and
        tries bound the wait, as for every call."""
        self._client.wait(self)
        return super().result(0)

    def exception(self, timeout=None):
        self._client.wait(self)
        return super().exception(0)

    def _answer(self, reply):
        if reply.get("ok") is True:
            self._end(reply, None)
        else:
            self._end(None, _error_of(reply))

    def _end(self, reply, error):
        if self.done():
            return  # cancelled by its caller: the answer is dropped
        if error is None:
            self.set_result(reply)
        else:
            self.set_exception(error)


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
    window: requests (and asynchronous calls) in flight at once.
    coalesce: most asynchronous calls in one batch message (1: each goes alone).
    """

    def __init__(self, endpoints, timeout=2.5, tries=3, context=None, window=256, coalesce=64):
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
        if not 1 <= coalesce <= 1000:
            raise ValueError("coalesce must be 1 to 1000")
        self.coalesce = coalesce
        self.coalescing = True   # False once a broker answered "batch" with unknown_op
        self._queue = []         # asynchronous calls not sent yet, in the order made
        self._inflight = {}      # request id -> (is a batch, [calls])
        self._seqs = itertools.count()
        self._a_timeouts = 0
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
        self._requeue()  # what went out on the old socket goes again on this one

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
                        self._on_async(reply)  # an asynchronous call's, or stale
                        continue
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
            raise _error_of(reply)
        return reply

    # ---- asynchronous calls ----

    def call_async(self, req):
        """Queue one lookup or validate request map; returns its Call. Nothing is sent yet."""
        call = Call(self, dict(req), next(self._seqs))
        self._queue.append(call)
        return call

    def lookup_async(self, system, code, include=(), release=None, date=None):
        """lookup(), answered later: a Call whose result() is the reply map."""
        req = {"op": "lookup", "system": system, "code": code}
        if include:
            req["include"] = list(include)
        return self.call_async(_when(req, release, date))

    def validate_async(self, system, codes, release=None, date=None):
        """validate(), answered later: a Call whose result() is the reply map."""
        if isinstance(codes, str):
            codes = [codes]
        req = {"op": "validate", "system": system, "codes": list(codes)}
        return self.call_async(_when(req, release, date))

    @property
    def outstanding(self):
        """Asynchronous calls not answered yet."""
        return len(self._queue) + sum(len(m[1]) for m in self._inflight.values())

    def flush(self):
        """Send the calls waiting now, without waiting for their replies."""
        self._send_queued()

    def wait(self, call):
        """Send what waits and read replies until call is answered."""
        self._pump(call)

    def wait_all(self):
        """Send what waits and read replies until every call is answered."""
        self._pump(None)

    def _requeue(self, calls=None):
        if calls is None:
            calls = [c for m in self._inflight.values() for c in m[1]]
            self._inflight.clear()
        self._queue = sorted(self._queue + calls, key=lambda c: c._seq)

    def _group(self):
        if not self.coalescing or self.coalesce <= 1 or self._queue[0]._alone:
            return 1
        k, codes = 0, 0
        for call in self._queue[:self.coalesce]:
            n = len(call._req.get("codes", ())) or 1
            if call._alone or codes + n > 1000:
                break
            k, codes = k + 1, codes + n
        return max(k, 1)

    def _send_queued(self):
        """Send what waits, as far as the window and the socket allow; True when the socket
        could take no more."""
        in_flight = sum(len(m[1]) for m in self._inflight.values())
        while self._queue and in_flight < self.window:
            if self._sock is None:
                self._open()
            k = min(self._group(), self.window - in_flight)
            calls = self._queue[:k]
            rid = next(self._ids)
            if k == 1:
                body = dict(calls[0]._req, id=rid)
            else:
                body = {"id": rid, "op": "batch", "requests": [c._req for c in calls]}
            try:
                self._sock.send(msgpack.packb(body, use_bin_type=True), zmq.DONTWAIT)
            except zmq.Again:
                return True
            del self._queue[:k]
            self._inflight[rid] = (k > 1, calls)
            in_flight += k
        return False

    def _on_async(self, reply):
        sent = self._inflight.pop(reply.get("id"), None) if isinstance(reply.get("id"), int) \
            else None
        if sent is None:
            return False  # a duplicate after a resend, or a reply to nothing of ours
        self._a_timeouts = 0
        batch, calls = sent
        if not batch:
            calls[0]._answer(reply)
            return True
        code = (reply.get("error") or {}).get("code") if reply.get("ok") is not True else None
        items = reply.get("replies")
        if code in ("unknown_op", "too_many"):
            # a broker without the batch op (or one whose --max-codes is lower): alone
            if code == "unknown_op":
                self.coalescing = False
            for call in calls:
                call._alone = code == "too_many"
            self._requeue(calls)
        elif code is not None:
            for call in calls:
                call._end(None, _error_of(reply))
        elif not isinstance(items, list) or len(items) != len(calls):
            for call in calls:
                call._end(None, CodesetError("internal", "a batch reply without one reply "
                                             "per request", reply))
        else:
            for call, item in zip(calls, items):
                call._answer(item if isinstance(item, dict) else {})
        return True

    def _pump(self, call):
        def waiting():
            return not call.done() if call is not None else (self._queue or self._inflight)
        deadline = time.monotonic() + self.timeout
        while waiting():
            if self._sock is None:
                self._open()
            blocked = self._send_queued()
            flags = zmq.POLLIN | (zmq.POLLOUT if blocked else 0)
            wait = max(0.0, deadline - time.monotonic())
            got = 0
            if self._sock.poll(int(wait * 1000), flags) & zmq.POLLIN:
                while True:
                    try:
                        frames = self._sock.recv_multipart(zmq.DONTWAIT)
                    except zmq.Again:
                        break
                    reply = self._decode(frames[-1])
                    got += 1 if reply is not None and self._on_async(reply) else 0
            if got:
                deadline = time.monotonic() + self.timeout
            if waiting() and time.monotonic() >= deadline:
                self._async_timeout()
                deadline = time.monotonic() + self.timeout

    def _async_timeout(self):
        """Lazy Pirate, as pipeline(): a new socket and everything in flight again, or after
        `tries` timeouts in a row every call not answered ends with CodesetTimeout."""
        self.close()
        self.reconnects += 1
        self._a_timeouts += 1
        if self._a_timeouts < self.tries:
            self._open()
            return
        self._a_timeouts = 0
        calls = self._queue + [c for m in self._inflight.values() for c in m[1]]
        self._queue, self._inflight = [], {}
        for call in calls:
            call._end(None, CodesetTimeout(
                "no reply from %s after %d tries of %g s"
                % (", ".join(self.endpoints), self.tries, self.timeout)))
        self._open()

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
