"""Benchmark: subscribing to a Janus VideoRoom with one subscriber handle per
publisher (one PeerConnection each, what sfu/janus*.c does) or with one
multistream handle for the whole room (`join` with every feed, later
`subscribe` on the same handle and a renegotiation).

For N publishers (audio + video each) it measures, per mode:
  * join: first REST request (attach) -> first RTP buffer of every one of
    the 2N streams at the subscriber (the Janus session already exists, as
    in a job); all per-publisher handles are joined concurrently;
  * add: one more publisher later: a new handle (per publisher), or
    `subscribe` + renegotiation on the existing one (multistream); request
    -> first buffer of both its streams; meanwhile the arrival gaps and
    sequence-number jumps of the streams already flowing are recorded;
  * CPU: steady CPU-seconds per second of the subscriber process (and of
    Janus) while receiving the N publishers, media depayloaded and dropped
    (depayloader -> fakesink); thread counts of both.
  * churn (multistream only, --churn): a subscribed publisher leaves and
    another is subscribed on the same handle (Janus may reuse m-lines).
Cases run --rounds times, modes interleaved; medians and ranges are written
to BENCHMARKS.md (between its bench_subscribe markers) and printed.

The subscriber is this script run inside the test namespace (--subscriber):
Python, PyGObject and GStreamer's webrtcbin, one pipeline per process, like
a job process. Needs root (network namespace), like the integration tests.

    /usr/bin/python3 bench/bench_subscribe.py [--counts 1,4,8] [--rounds 3] [--seconds 15]
"""

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import benchmd
from procstat import cpu_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOM = 1237  # tests/world/janus/janus.plugin.videoroom.jcfg: 16 publishers


# ====================================================================== subscriber
# Runs inside the namespace; talks to the parent with JSON lines on stdout
# and commands on stdin ("add FEED", "leave FEED", "resubscribe FEED", "quit").

def say(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


def now_ms():
    return time.monotonic() * 1000.0


class Janus:
    """One Janus session over REST: synchronous requests, a long-poll thread
    that hands each event to the queue of its handle."""

    def __init__(self, url):
        self.url = url.rstrip("/")
        self.queues = {}
        self.seen = {}  # handle -> Janus event kinds received (webrtcup, hangup, ...)
        self.t_up = {}  # handle -> time of its webrtcup (ms)
        self.lock = threading.Lock()
        self.n = 0
        r = self.post("", {"janus": "create"})
        self.sid = r["data"]["id"]
        self.alive = True
        threading.Thread(target=self._poll, daemon=True).start()

    def post(self, path, body):
        with self.lock:
            self.n += 1
            body = dict(body, transaction="t%d" % self.n)
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as f:
            r = json.loads(f.read())
        if r.get("janus") == "error":
            raise RuntimeError("Janus %s: %s" % (body, r))
        return r

    def _poll(self):
        while self.alive:
            try:
                with urllib.request.urlopen("%s/%d?maxev=10" % (self.url, self.sid),
                                            timeout=40) as f:
                    evs = json.loads(f.read())
            except Exception:
                if self.alive:
                    time.sleep(0.1)
                continue
            for ev in evs if isinstance(evs, list) else [evs]:
                if ev.get("janus") == "keepalive":
                    continue
                if os.environ.get("BENCH_SUB_DEBUG"):
                    sys.stderr.write("%.1f event %s\n" % (now_ms(), json.dumps(ev)[:600]))
                with self.lock:
                    self.seen.setdefault(ev.get("sender"), []).append(ev.get("janus"))
                    if ev.get("janus") == "webrtcup":
                        self.t_up.setdefault(ev.get("sender"), now_ms())
                self.events(ev.get("sender")).put((now_ms(), ev))

    def events(self, handle):
        with self.lock:
            return self.queues.setdefault(handle, queue.Queue())

    def attach(self):
        h = self.post("/%d" % self.sid, {"janus": "attach", "plugin": "janus.plugin.videoroom"})
        return h["data"]["id"]

    def message(self, handle, body, jsep=None):
        msg = {"janus": "message", "body": body}
        if jsep:
            msg["jsep"] = jsep
        return self.post("/%d/%d" % (self.sid, handle), msg)

    def trickle(self, handle, cand):
        self.post("/%d/%d" % (self.sid, handle), {"janus": "trickle", "candidate": cand})

    def wait(self, handle, pred, timeout=15):
        """The next event of handle for which pred(ev) is true (others are
        dropped, errors raise)."""
        q = self.events(handle)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("handle %s: no expected event within %.0f s" % (handle, timeout))
            try:
                t, ev = q.get(timeout=left)
            except queue.Empty:
                continue
            data = ev.get("plugindata", {}).get("data", {})
            if "error" in data:
                raise RuntimeError("handle %s: %s" % (handle, data))
            if pred(ev, data):
                return t, ev, data

    def destroy(self):
        self.alive = False
        try:
            self.post("/%d" % self.sid, {"janus": "destroy"})
        except Exception:
            pass


class Stream:
    """One received stream (a webrtcbin src pad): first buffer time, and
    arrival times + RTP sequence numbers while recording is on."""

    def __init__(self, pc, mid, media, pad):
        self.pc, self.mid, self.media, self.pad = pc, mid, media, pad
        self.created_ms = now_ms()
        self.first_ms = None
        self.arrivals = []
        self.rec_probe = None  # the recording probe's id while recording


class Subscriber:
    """The subscriber process: one pipeline, one webrtcbin per handle."""

    def __init__(self, url):
        import gi
        gi.require_version("Gst", "1.0")
        gi.require_version("GstWebRTC", "1.0")
        gi.require_version("GstSdp", "1.0")
        gi.require_version("GstRtp", "1.0")
        from gi.repository import Gst, GstWebRTC, GstSdp, GstRtp, GLib
        self.Gst, self.GstWebRTC, self.GstSdp, self.GstRtp = Gst, GstWebRTC, GstSdp, GstRtp
        self.GLib = GLib
        Gst.init(None)
        self.loop = GLib.MainLoop()
        threading.Thread(target=self.loop.run, daemon=True).start()
        self.pipe = Gst.Pipeline.new("sub")
        self.pipe.set_state(Gst.State.PLAYING)
        # GStreamer's DTLS makes its certificate (RSA) once per process, on
        # the first DTLS element: a job does it on a thread of its own as it
        # starts, so make it here, before any timing.
        Gst.ElementFactory.make("dtlsdec", None)
        # PyGObject loads a type's wrapper on first use, and doing that on
        # several threads at once fails ("Expected GstSdp.SDPMessage, but got
        # gi.repository.GstSdp.SDPMessage"): use every type here first.
        _, sdp = GstSdp.SDPMessage.new_from_text("v=0\r\n")
        GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, sdp)
        Gst.Promise.new()
        w = Gst.ElementFactory.make("webrtcbin", None)
        w.get_property("ice-gathering-state")
        w.emit("get-transceivers")
        for t in (GstWebRTC.WebRTCRTPTransceiver, GstWebRTC.WebRTCBundlePolicy,
                  Gst.PadProbeType, Gst.PadProbeReturn):
            t.__name__
        del w
        buf = GstRtp.RTPBuffer.new_allocate(0, 0, 0)
        assert rtp_seq(GstRtp, Gst, buf) >= 0
        self.janus = Janus(url)
        self.lock = threading.Lock()
        self.streams = []
        self.pcs = []
        self.pads_removed = 0
        self.cond = threading.Condition(self.lock)

    # -- media
    def _on_pad(self, webrtc, pad, pc):
        Gst = self.Gst
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        caps = pad.get_current_caps() or pad.query_caps(None)
        s = caps.get_structure(0)
        media = s.get_string("media")
        enc = (s.get_string("encoding-name") or "").upper()
        depay = {"OPUS": "rtpopusdepay", "VP8": "rtpvp8depay",
                 "H264": "rtph264depay"}.get(enc, "identity")
        branch = Gst.parse_bin_from_description(
            "%s ! fakesink sync=false async=false" % depay, True)
        self.pipe.add(branch)
        branch.sync_state_with_parent()
        pad.link(branch.get_static_pad("sink"))
        mid = pad.get_property("transceiver").get_property("mid")
        st = Stream(pc, mid, media, pad)
        with self.lock:
            self.streams.append(st)
        pad.add_probe(Gst.PadProbeType.BUFFER, self._on_first, st)

    def _on_first(self, pad, info, st):
        with self.lock:
            st.first_ms = now_ms()
            self.cond.notify_all()
        return self.Gst.PadProbeReturn.REMOVE

    def _on_buffer(self, pad, info, st):
        # An exception here would make PyGObject return DROP: never raise.
        t = now_ms()
        seq = -1
        try:
            seq = rtp_seq(self.GstRtp, self.Gst, info.get_buffer())
        except Exception as e:
            sys.stderr.write("probe: %r\n" % e)
        st.arrivals.append((t, seq))
        return self.Gst.PadProbeReturn.OK

    def start_recording(self):
        """Records the arrivals of every stream there is now."""
        with self.lock:
            streams = list(self.streams)
        for st in streams:
            st.arrivals = []
            st.rec_probe = st.pad.add_probe(self.Gst.PadProbeType.BUFFER, self._on_buffer, st)

    def stop_recording(self):
        with self.lock:
            streams = list(self.streams)
        for st in streams:
            if st.rec_probe is not None:
                st.pad.remove_probe(st.rec_probe)
                st.rec_probe = None

    def wait_streams(self, pcs, count, timeout=20):
        """Waits until `count` streams of the given PCs have had a buffer;
        returns the time of the last of those first buffers."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                got = [s.first_ms for s in self.streams if s.pc in pcs and s.first_ms]
                if len(got) >= count:
                    return max(got)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.5))

    # -- one PeerConnection
    def new_pc(self, handle):
        Gst, GstWebRTC = self.Gst, self.GstWebRTC
        pc = {"handle": handle, "cands": [], "answered": False}
        w = Gst.ElementFactory.make("webrtcbin", None)
        w.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        w.set_property("latency", 200)
        rtpbin = w.get_by_name("rtpbin")
        if rtpbin:
            Gst.util_set_object_arg(rtpbin, "buffer-mode", "synced")
        pc["webrtc"] = w
        w.connect("pad-added", self._on_pad, handle)
        w.connect("pad-removed", self._on_pad_removed)
        w.connect("on-ice-candidate", self._on_candidate, pc)
        w.connect("notify::ice-gathering-state", self._on_gathering, pc)
        self.pipe.add(w)
        w.sync_state_with_parent()
        with self.lock:
            self.pcs.append(pc)
        return pc

    def _on_pad_removed(self, w, pad):
        with self.lock:
            self.pads_removed += 1

    def stats(self):
        """RTP packets and bytes received so far per stream ("handle/ssrc":
        [packets, bytes]; webrtcbin's inbound-rtp statistics)."""
        Gst = self.Gst
        tot = {}
        with self.lock:
            pcs = list(self.pcs)
        for pc in pcs:
            p = Gst.Promise.new()
            pc["webrtc"].emit("get-stats", None, p)
            p.wait()
            reply = p.get_reply()

            def each(field, value, _):
                if isinstance(value, Gst.Structure):
                    ok, kind = value.get_enum("type", self.GstWebRTC.WebRTCStatsType)
                    if ok and kind == int(self.GstWebRTC.WebRTCStatsType.INBOUND_RTP):
                        tot["%s/%s" % (pc["handle"], value.get_value("ssrc"))] = [
                            value.get_value("packets-received") or 0,
                            value.get_value("bytes-received") or 0]
                return True
            if reply:
                reply.foreach(each, None)
        return tot

    def _trickle(self, pc, cand):
        with self.lock:
            if not pc["answered"]:
                pc["cands"].append(cand)
                return
        threading.Thread(target=self.janus.trickle, args=(pc["handle"], cand),
                         daemon=True).start()

    def _on_candidate(self, w, mline, cand, pc):
        self._trickle(pc, {"candidate": cand, "sdpMLineIndex": mline})

    def _on_gathering(self, w, ps, pc):
        if w.get_property("ice-gathering-state") == self.GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            self._trickle(pc, {"completed": True})

    def answer(self, pc, offer_sdp):
        """Applies Janus's offer, sends the answer with `start`, flushes the
        candidates gathered meanwhile. Returns the time the answer was sent."""
        Gst, GstWebRTC, GstSdp = self.Gst, self.GstWebRTC, self.GstSdp
        w = pc["webrtc"]
        _, sdp = GstSdp.SDPMessage.new_from_text(offer_sdp)
        offer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, sdp)
        p = Gst.Promise.new()
        w.emit("set-remote-description", offer, p)
        p.wait()
        p = Gst.Promise.new()
        w.emit("create-answer", None, p)
        p.wait()
        reply = p.get_reply()
        ans = reply.get_value("answer") if reply else None
        if ans is None:
            raise RuntimeError("webrtcbin could not answer: %s" % (reply and reply.to_string()))
        # The DTLS server role, as the service's answers (sfu/janus_webrtc.c).
        text = ans.sdp.as_text().replace("a=setup:active", "a=setup:passive")
        _, local = GstSdp.SDPMessage.new_from_text(text)
        ans = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, local)
        w.emit("set-local-description", ans, None)
        with self.lock:
            pc["answered"] = False
        self.janus.message(pc["handle"], {"request": "start"}, {"type": "answer", "sdp": text})
        t = now_ms()
        with self.lock:
            pc["answered"] = True
            cands, pc["cands"] = pc["cands"], []
        for c in cands:
            self.janus.trickle(pc["handle"], c)
        return t

    # -- the two ways of subscribing
    def subscribe_handle(self, feeds, times):
        """A new handle joined with these feeds (one PC); fills times."""
        j = self.janus
        h = j.attach()
        pc = self.new_pc(h)
        j.message(h, {"request": "join", "ptype": "subscriber", "room": ROOM,
                      "streams": [{"feed": f} for f in feeds]})
        t, ev, data = j.wait(h, lambda ev, d: d.get("videoroom") == "attached" and "jsep" in ev)
        times["offer"] = t
        times["answer"] = self.answer(pc, ev["jsep"]["sdp"])
        times["pc"] = pc
        return pc

    def update(self, pc, body, times, timeout=15):
        """subscribe/unsubscribe on an existing handle, then the
        renegotiation Janus asks for (its `updated` event with an offer)."""
        j = self.janus
        j.message(pc["handle"], body)
        t, ev, data = j.wait(pc["handle"], lambda ev, d: d.get("videoroom") == "updated"
                             and "jsep" in ev, timeout)
        times["offer"] = t
        times["streams"] = [(s.get("mid"), s.get("active", True), s.get("feed_id"))
                            for s in data.get("streams", [])]
        times["answer"] = self.answer(pc, ev["jsep"]["sdp"])


def rtp_seq(GstRtp, Gst, buf):
    ok, rtp = GstRtp.RTPBuffer.map(buf, Gst.MapFlags.READ)
    if not ok:
        return -1
    seq = rtp.get_seq()
    rtp.unmap()
    return seq


def first_after(st, t):
    """Time of the stream's first buffer after t (ms), or None."""
    if st.first_ms and st.first_ms >= t:
        return st.first_ms
    for ta, _ in st.arrivals:
        if ta >= t:
            return ta
    return None


def span_gap(streams, ta, tb):
    """Largest interval between two buffers of a stream that overlaps
    [ta, tb] (ms), over the streams."""
    worst = 0.0
    for st in streams:
        arr = [t for t, _ in st.arrivals]
        for t0, t1 in zip(arr, arr[1:]):
            if t0 <= tb and t1 >= ta:
                worst = max(worst, t1 - t0)
    return round(worst, 1)


def gaps_report(streams, t_from, t_to):
    """Largest arrival gap and sequence-number jumps of each stream within
    [t_from, t_to] (ms), as a summary over the streams."""
    worst, jumps, lost = 0.0, 0, 0
    for st in streams:
        arr = [(t, s) for t, s in st.arrivals if t_from - 500 <= t <= t_to]
        for (t0, s0), (t1, s1) in zip(arr, arr[1:]):
            if t1 < t_from:
                continue
            worst = max(worst, t1 - t0)
            d = (s1 - s0) & 0xFFFF
            if s0 >= 0 and s1 >= 0 and d != 1:
                jumps += 1
                if d < 0x8000:
                    lost += d - 1
    return {"max_gap_ms": round(worst, 1), "seq_jumps": jumps, "seq_lost": lost}


def subscriber_main(a):
    feeds = [int(x) for x in a.feeds.split(",")]
    sub = Subscriber(a.janus)
    say(ev="ready", pid=os.getpid())
    j = sub.janus
    expect = 2 * len(feeds)
    t0 = now_ms()
    pcs = []
    if a.mode == "per":
        errors = []
        per = [dict() for _ in feeds]

        def one(f, tm):
            try:
                sub.subscribe_handle([f], tm)
            except Exception as e:
                errors.append(repr(e))
        threads = [threading.Thread(target=one, args=(f, tm)) for f, tm in zip(feeds, per)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        if errors:
            raise RuntimeError(errors[0])
        pcs = [tm["pc"] for tm in per]
        t_offer = max(tm["offer"] for tm in per)
        t_answer = max(tm["answer"] for tm in per)
    else:
        tm = {}
        pcs = [sub.subscribe_handle(feeds, tm)]
        t_offer, t_answer = tm["offer"], tm["answer"]
    t_all = sub.wait_streams({pc["handle"] for pc in pcs}, expect, 30)
    if t_all is None:
        # Some streams never came: say which PeerConnections, and how they are.
        bad = []
        for pc in pcs:
            h, w = pc["handle"], pc["webrtc"]
            n = len([st for st in sub.streams if st.pc == h and st.first_ms])
            if n < expect // len(pcs):
                bad.append({"streams": n, "janus_events": j.seen.get(h, []),
                            "ice": w.get_property("ice-connection-state").value_nick,
                            "pc": w.get_property("connection-state").value_nick})
        ok = len([st for st in sub.streams if st.first_ms])
        say(ev="flowing", failed=True, streams_flowing=ok, streams_expected=expect,
            failed_pcs=bad, pcs=len(pcs))
        j.destroy()
        return
    say(ev="flowing", join_ms=round(t_all - t0, 1), offer_ms=round(t_offer - t0, 1),
        answer_ms=round(t_answer - t0, 1), streams=len(sub.streams), threads=threads_of(os.getpid()))

    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "quit":
            break
        if cmd[0] == "stats":
            say(ev="stats", streams=sub.stats())
            continue
        if cmd[0] in ("add", "churn"):
            feed = int(cmd[1])
            # Arrivals of the streams already flowing: 2 s before, during,
            # and 2 s after the new publisher's media arrives.
            old = list(sub.streams)
            removed0 = sub.pads_removed
            sub.start_recording()
            time.sleep(2)
            t1 = now_ms()
            tm = {}
            res = {}
            try:
                if cmd[0] == "churn":
                    # A subscribed publisher leaves now (the parent makes it
                    # leave): does Janus renegotiate by itself? If not, the
                    # subscriber unsubscribes it (which renegotiates).
                    gone = int(cmd[2])
                    h = pcs[0]["handle"]
                    try:
                        t, ev, data = j.wait(h, lambda ev, d: d.get("videoroom") == "updated"
                                             and "jsep" in ev, 6)
                        res["auto_offer_ms"] = round(t - t1, 1)
                    except RuntimeError:
                        res["auto_offer_ms"] = None
                        t2 = now_ms()
                        j.message(h, {"request": "unsubscribe", "streams": [{"feed": gone}]})
                        t, ev, data = j.wait(h, lambda ev, d: d.get("videoroom") == "updated"
                                             and "jsep" in ev, 10)
                        res["unsubscribe_offer_ms"] = round(t - t2, 1)
                    res["after_leave"] = [(s.get("mid"), s.get("active", True), s.get("feed_id"))
                                          for s in data.get("streams", [])]
                    sub.answer(pcs[0], ev["jsep"]["sdp"])
                    time.sleep(1.5)
                    t1 = now_ms()
                    # the leaver's streams have stopped
                    old = [s for s in old if s.arrivals and s.arrivals[-1][0] > t1 - 500]
                    res["gone"] = gone
                if a.mode == "per":
                    new = sub.subscribe_handle([feed], tm)
                    handles = {new["handle"]}
                else:
                    sub.update(pcs[0], {"request": "subscribe", "streams": [{"feed": feed}]}, tm)
                    res["after_add"] = tm.get("streams")
                    handles = {pcs[0]["handle"]}
                # The new publisher's two streams: not among the old ones, a
                # buffer after the request (a reused m-line may bring back
                # the pad of a stream that had stopped).
                deadline = time.monotonic() + 15
                while True:
                    with sub.lock:
                        cand = [s for s in sub.streams if s not in old and s.pc in handles
                                and first_after(s, t1)]
                    fresh = [first_after(s, t1) for s in cand]
                    if len(fresh) >= 2 or time.monotonic() > deadline:
                        break
                    time.sleep(0.01)
                if len(fresh) < 2:
                    raise RuntimeError("the added publisher's media did not arrive (%d streams)"
                                       % len(fresh))
                t_new = max(fresh)
                time.sleep(3)
                # Streams with buffers 1-3 s after the new media: still flowing.
                still = [s for s in old if s.arrivals and s.arrivals[-1][0] > t_new + 1000]
                if os.environ.get("BENCH_SUB_DEBUG"):
                    sys.stderr.write("arrivals %s\n" % [(s.mid, s.pc, len(s.arrivals), s.rec_probe,
                                                            s.pad.get_name(), s.pad.is_linked())
                                                           for s in sub.streams])
                # A pad webrtcbin made for this add, or the pad of a stream
                # that had stopped (a reused m-line)?
                res["new_pads"] = len([s for s in cand if s.created_ms >= t1])
                res["reused_pads"] = len([s for s in cand if s.created_ms < t1])
                res["pads_removed"] = sub.pads_removed - removed0
                if a.mode == "per" and new["handle"] in j.t_up:
                    # the new PeerConnection's ICE + DTLS: request -> webrtcup
                    res["webrtcup_ms"] = round(j.t_up[new["handle"]] - t1, 1)
                res.update(add_ms=round(t_new - t1, 1), offer_ms=round(tm["offer"] - t1, 1),
                           answer_ms=round(tm["answer"] - t1, 1),
                           during=gaps_report(old, t1, t_new + 1000),
                           # the gap spanning the moment the new answer was
                           # made (offer in -> answer out), and the same for
                           # an interval as long, 1 s before the request
                           at_update=span_gap(old, tm["offer"], tm["answer"]),
                           control=span_gap(old, t1 - 1000 - (tm["answer"] - tm["offer"]),
                                            t1 - 1000),
                           before=gaps_report(old, t1 - 1500, t1),
                           old_streams=len(old), old_still_flowing=len(still))
            except Exception as e:
                res["error"] = repr(e)
            sub.stop_recording()
            say(ev=cmd[0], **res)
    j.destroy()
    sub.pipe.set_state(sub.Gst.State.NULL)


# ====================================================================== parent

def threads_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


def stats_delta(s0, s1, i):
    """Packets (i=0) or bytes (i=1) received between two statistics, over
    the streams in both (a counter that went back is left out)."""
    a, b = s0["streams"], s1["streams"]
    return sum(max(0, b[k][i] - a[k][i]) for k in a if k in b)


class Run:
    """One subscriber process in the world."""

    def __init__(self, w, mode, feeds, tag):
        self.w = w
        self.p = w.run(["/usr/bin/python3", os.path.abspath(__file__), "--subscriber", "--mode",
                        mode, "--janus", w.janus_url, "--feeds", ",".join(map(str, feeds))],
                       name="sub-" + tag, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                       env={"GST_DEBUG": "1", "BENCH_SUB_DEBUG": os.environ.get("BENCH_SUB_DEBUG", "")})
        self.q = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in iter(self.p.stdout.readline, b""):
            try:
                self.q.put(json.loads(raw))
            except ValueError:
                pass
        self.q.put(None)

    def expect(self, ev, timeout=60):
        deadline = time.time() + timeout
        while True:
            try:
                m = self.q.get(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                m = None
                if time.time() < deadline:
                    continue
            if m is None:
                raise RuntimeError("subscriber: no %r (exit %s)\n%s"
                                   % (ev, self.p.poll(), self.w.tail(self.p.egw_name, 30)))
            if m.get("ev") == ev:
                return m

    def send(self, cmd):
        self.p.stdin.write((cmd + "\n").encode())
        self.p.stdin.flush()

    def close(self):
        try:
            self.send("quit")
            self.p.wait(10)
        except Exception:
            self.p.kill()
            self.p.wait(5)


def measure(w, mode, feeds, extra, seconds, tag, janus_pid):
    r = Run(w, mode, feeds, tag)
    try:
        pid = r.expect("ready")["pid"]
        fl = r.expect("flowing")
        if fl.get("failed"):
            return {"failed": fl, "load": os.getloadavg()[0]}
        time.sleep(2)
        r.send("stats")
        s0 = r.expect("stats")
        c0, j0, t0 = cpu_of(pid), cpu_of(janus_pid), time.time()
        time.sleep(seconds)
        c1, j1, t1 = cpu_of(pid), cpu_of(janus_pid), time.time()
        r.send("stats")
        s1 = r.expect("stats")
        out = {"join_ms": fl["join_ms"], "offer_ms": fl["offer_ms"], "answer_ms": fl["answer_ms"],
               "cpu": (c1 - c0) / (t1 - t0), "janus_cpu": (j1 - j0) / (t1 - t0),
               "threads": threads_of(pid), "janus_threads": threads_of(janus_pid),
               "load": os.getloadavg()[0],
               "pps": stats_delta(s0, s1, 0) / (t1 - t0),
               "kbps": stats_delta(s0, s1, 1) * 8 / 1000 / (t1 - t0)}
        r.send("add %d" % extra)
        out["add"] = r.expect("add")
        return out
    finally:
        r.close()


def churn(w, pubs, feeds, extra, tag):
    """Multistream: publisher feeds[0] leaves, Janus renegotiates, then the
    extra publisher is subscribed on the same handle."""
    r = Run(w, "multi", feeds, tag)
    try:
        r.expect("ready")
        if r.expect("flowing").get("failed"):
            return {"error": "not all media arrived at the join"}
        time.sleep(1)
        gone = pubs[0]
        r.send("churn %d %d" % (extra, gone.id))
        time.sleep(2.2)  # the subscriber records the streams for 2 s first
        gone.send("leave")
        gone.wait_for("left", 10)
        res = r.expect("churn", 60)
        gone.send("join")
        gone.id = int(gone.wait_for("joined", 15).split()[1])
        gone.wait_for("webrtcup", 15)
        return res
    finally:
        r.close()


def med_range(vals, fmt="%.0f"):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "-"
    return (fmt + " (" + fmt + "-" + fmt + ")") % (statistics.median(vals), min(vals), max(vals))


def write_markdown(results, churns, counts, rounds, seconds, notes, order):
    begin, end = "<!-- bench_subscribe:begin -->", "<!-- bench_subscribe:end -->"
    name = {"per": "one handle per publisher", "multi": "one multistream handle"}
    md = [begin, "",
          "### Subscribing: one handle per publisher vs one multistream handle "
          "(`bench/bench_subscribe.py`)", "",
          "Run %s on this machine, %d cores; room of N+1 synthetic publishers (640x360 30 fps "
          "VP8 + Opus each); subscriber: Python + webrtcbin (jitter buffer 200 ms, `synced`), "
          "each stream depayloaded into a fakesink; %d rounds, modes taken in turn; "
          "median (min-max)." % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                os.cpu_count(), rounds), "",
          "Join: first request (attach) -> first RTP buffer of all 2N streams; offer/answer: "
          "the last handle's offer received / answer sent (ms). Add one publisher: request -> "
          "first buffer of both its streams (ms).", "",
          "| N | mode | runs with all media | join | offer | answer | add one publisher "
          "| add: request -> the new handle's webrtcup |",
          "|---|---|---|---|---|---|---|---|"]
    ok = {k: [r for r in rs if "failed" not in r] for k, rs in results.items()}
    for n in counts:
        for mode in ("per", "multi"):
            rs = ok[(n, mode)]
            md.append("| %d | %s | %d/%d | %s | %s | %s | %s | %s |" % (
                n, name[mode], len(rs), len(results[(n, mode)]),
                med_range([r["join_ms"] for r in rs]),
                med_range([r["offer_ms"] for r in rs]), med_range([r["answer_ms"] for r in rs]),
                med_range([r["add"].get("add_ms") for r in rs]),
                med_range([r["add"].get("webrtcup_ms") for r in rs])))
    md += ["", "Steady CPU over %.0f s while receiving N publishers: CPU-seconds per second "
           "(per track = / 2N), RTP packets received per second (webrtcbin's inbound-rtp "
           "statistics), CPU microseconds per packet received (the figure least moved by "
           "publishers that a loaded machine slows down), threads of the process. Janus: the "
           "whole server (it also receives the N+1 publishers)." % seconds, "",
           "| N | mode | subscriber CPU | per track | packets/s | µs per packet | subscriber "
           "threads | Janus CPU | Janus µs per packet | Janus threads |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for n in counts:
        for mode in ("per", "multi"):
            rs = ok[(n, mode)]
            md.append("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                n, name[mode], med_range([r["cpu"] for r in rs], "%.4f"),
                med_range([r["cpu"] / (2 * n) for r in rs], "%.4f"),
                med_range([r["pps"] for r in rs]),
                med_range([r["cpu"] * 1e6 / r["pps"] for r in rs if r["pps"]]),
                med_range([r["threads"] for r in rs]),
                med_range([r["janus_cpu"] for r in rs], "%.3f"),
                med_range([r["janus_cpu"] * 1e6 / r["pps"] for r in rs if r["pps"]]),
                med_range([r["janus_threads"] for r in rs])))
    loads = [r["load"] for rs in results.values() for r in rs]
    md += ["", "Load average (1 min) of the machine during the CPU samples: %s "
           "(other work shared the machine)." % med_range(loads, "%.1f")]
    md += ["", "The streams already flowing while one publisher is added: largest gap between "
           "two buffers (ms) in the 1.5 s before the request, from the request to 1 s after "
           "the new media, and the one spanning the renegotiation itself (offer received -> "
           "answer sent; per publisher: the new handle's) next to a control (an interval as "
           "long, 1 s before the request); RTP sequence jumps (lost packets) over the 2N "
           "streams during the add, per run; streams still flowing 1-3 s after, per run:", "",
           "| N | mode | largest gap before | during | spanning the renegotiation | control "
           "| sequence jumps (lost) | streams still flowing after |",
           "|---|---|---|---|---|---|---|---|"]
    for n in counts:
        for mode in ("per", "multi"):
            rs = [r["add"] for r in ok[(n, mode)] if "during" in r["add"]]
            md.append("| %d | %s | %s | %s | %s | %s | %s | %s |" % (
                n, name[mode], med_range([r["before"]["max_gap_ms"] for r in rs]),
                med_range([r["during"]["max_gap_ms"] for r in rs]),
                med_range([r["at_update"] for r in rs]), med_range([r["control"] for r in rs]),
                "; ".join("%d (%d)" % (r["during"]["seq_jumps"], r["during"]["seq_lost"])
                          for r in rs),
                "; ".join("%d/%d" % (r["old_still_flowing"], r["old_streams"]) for r in rs)))
    fails = ["%s N=%d: %d of %d streams after 30 s; PeerConnections without media: %s" % (
        name[m], n, r["failed"]["streams_flowing"], r["failed"]["streams_expected"],
        json.dumps(r["failed"]["failed_pcs"])) for (n, m), rs in results.items()
        for r in rs if "failed" in r]
    if fails:
        md += ["", "Joins where media did not all arrive within 30 s (left out of the figures "
               "above): " + "; ".join(fails)]
    errs = ["%s N=%d: %s" % (name[m], n, r["add"]["error"]) for (n, m), rs in ok.items()
            for r in rs if "error" in r["add"]]
    if errs:
        md += ["", "Errors while adding a publisher: " + "; ".join(errs)]
    if churns:
        md += ["", "Churn on one multistream handle: a subscribed publisher leaves; Janus's "
               "own updated offer is awaited 6 s, else the subscriber sends `unsubscribe` "
               "(-> offer); then another publisher is subscribed on the same handle, into "
               "the m-lines the leaver freed:", "",
               "| N | Janus's own offer after the leave (ms) | else unsubscribe -> offer (ms) "
               "| add after the leave (ms) | new pads / reused pads / pads removed "
               "| largest gap during the add | spanning the renegotiation | sequence jumps "
               "| streams still flowing | error |", "|---|---|---|---|---|---|---|---|---|---|"]
        for n, c in churns:
            md.append("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                n, "none" if c.get("auto_offer_ms", 0) is None else c.get("auto_offer_ms", "-"),
                c.get("unsubscribe_offer_ms", "-"), c.get("add_ms", "-"),
                "%s / %s / %s" % (c.get("new_pads", "-"), c.get("reused_pads", "-"),
                                  c.get("pads_removed", "-")),
                c.get("during", {}).get("max_gap_ms", "-"), c.get("at_update", "-"),
                c.get("during", {}).get("seq_jumps", "-"),
                "%s/%s" % (c.get("old_still_flowing", "-"), c.get("old_streams", "-")),
                c.get("error", "")))
    md += ["", "Every run, in the order taken (join and add in ms; CPU-s per s; load: 1-min "
           "load average):", "", "| round | N | mode | join | add | subscriber CPU | packets/s "
           "| µs per packet | Janus CPU | load |", "|---|---|---|---|---|---|---|---|---|---|"]
    for rnd, n, mode, r in order:
        if "failed" in r:
            md.append("| %d | %d | %s | no media | | | | | | %.1f |" % (rnd, n, name[mode],
                                                                      r["load"]))
            continue
        md.append("| %d | %d | %s | %.0f | %s | %.4f | %.0f | %s | %.3f | %.1f |" % (
            rnd, n, name[mode], r["join_ms"], "%.0f" % r["add"]["add_ms"]
            if "add_ms" in r["add"] else "-", r["cpu"], r["pps"],
            "%.0f" % (r["cpu"] * 1e6 / r["pps"]) if r["pps"] > 0 else "-", r["janus_cpu"],
            r["load"]))
    md += notes + ["", end]
    benchmd.write_block(md)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--counts", default="1,4,8", help="publisher counts N")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=15, help="CPU sampling per case")
    ap.add_argument("--churn", action="store_true", help="also the multistream churn check")
    ap.add_argument("--no-write", action="store_true", help="print, do not touch BENCHMARKS.md")
    # the subscriber process
    ap.add_argument("--subscriber", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mode", choices=("per", "multi"), help=argparse.SUPPRESS)
    ap.add_argument("--janus", help=argparse.SUPPRESS)
    ap.add_argument("--feeds", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.subscriber:
        return subscriber_main(a)

    os.environ.setdefault("EGW_SOURCE_DIR", ROOT)
    os.environ.setdefault("EGW_BUILD_DIR", os.path.join(ROOT, "build"))
    sys.path.insert(0, os.path.join(ROOT, "tests", "world"))
    import world
    counts = [int(x) for x in a.counts.split(",")]
    results = {(n, m): [] for n in counts for m in ("per", "multi")}
    churns = []
    order = []
    with world.World("benchsub") as w:
        w.start_janus()
        janus_pid = w.janus_proc.pid
        colors = ["ff0000", "00ff00", "0000ff", "ffff00", "ff00ff", "00ffff", "ffffff",
                  "808080", "800000", "008000"]
        pubs = []
        # Three at a time: each publisher makes its DTLS key as it starts.
        for i in range(max(counts) + 1):
            pubs.append(w.start_publisher("p%d" % i, color=colors[i % len(colors)],
                                          freq=300 + 50 * i, video="vp8", room=ROOM))
            if i % 3 == 2 or i == max(counts):
                for p in pubs[-3:]:
                    if p.id is None:
                        p.id = int(p.wait_for("joined", 60).split()[1])
                        p.wait_for("webrtcup", 60)
        time.sleep(2)
        for rnd in range(a.rounds):
            for n in counts:
                modes = ("per", "multi") if (rnd + n) % 2 == 0 else ("multi", "per")
                for mode in modes:
                    feeds = [p.id for p in pubs[:n]]
                    r = measure(w, mode, feeds, pubs[n].id, a.seconds,
                                "%s-%d-%d" % (mode, n, rnd), janus_pid)
                    print("round %d N=%d %s: %s" % (rnd, n, mode, json.dumps(r)), flush=True)
                    results[(n, mode)].append(r)
                    order.append((rnd, n, mode, r))
                    time.sleep(1)
                if a.churn and n >= 2:
                    c = churn(w, pubs, [p.id for p in pubs[:n]], pubs[n].id,
                              "churn-%d-%d" % (n, rnd))
                    print("churn N=%d: %s" % (n, json.dumps(c)), flush=True)
                    churns.append((n, c))
                    time.sleep(1)
    if not a.no_write:
        write_markdown(results, churns, counts, a.rounds, a.seconds, [], order)
    else:
        print(json.dumps({"%d-%s" % k: v for k, v in results.items()}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
