"""A bare GStreamer receiver of Janus VideoRoom publishers: a plain
webrtcbin subscriber (GStreamer's defaults: 200 ms jitter buffer, default
RTCP), the reference of two benchmarks.

  * bench_resilience.py: what it keeps of a participant when the network
    loses packets, next to what the egress worker keeps. It subscribes to
    the publisher whose display name is --participant, writes its VP8 and
    Opus as they arrive (depayloaded, from the first keyframe, no decoding)
    to --out (MKV) for --seconds, then finalises the file and exits 0.
  * bench_composite.py: what receiving alone costs. With --discard it
    subscribes to every --participant given (one multistream subscription),
    depayloads each stream (VP8, H.264, Opus) into a fakesink and writes
    nothing.

--nack asks for retransmissions (do-nack on every transceiver:
`a=rtcp-fb:96 nack` in the answer); without it the answer carries only
what webrtcbin offers by default (`nack pli`: keyframe requests).

    python3 bench/bare_receiver.py --janus URL --room 1234 \
        --participant alice --seconds 20 --out bare.mkv [--nack]
    python3 bench/bare_receiver.py --janus URL --room 1234 --discard \
        --participant p00 --participant p01 ... --seconds 30
"""

import argparse
import itertools
import json
import queue
import signal
import sys
import threading
import time
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402


class Janus:
    """The few Janus REST calls a subscriber needs."""

    def __init__(self, url):
        self.url = url.rstrip("/")
        self.n = itertools.count(1)  # called from two threads

    def call(self, path, body, timeout=10):
        body = dict(body, transaction="bare-%d" % next(self.n))
        req = urllib.request.Request(self.url + path, json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.load(r)

    def poll(self, sid, timeout=35):
        with urllib.request.urlopen("%s/%s?maxev=1" % (self.url, sid), timeout=timeout) as r:
            return json.load(r)


def feeds_of(janus, sid, hid, room, names):
    r = janus.call("/%s/%s" % (sid, hid),
                   {"janus": "message", "body": {"request": "listparticipants", "room": room}})
    ids = {p.get("display"): p["id"] for p in r["plugindata"]["data"].get("participants", [])
           if p.get("publisher")}
    missing = [n for n in names if n not in ids]
    if missing:
        raise SystemExit("bare_receiver: no publisher %s in room %s" % (missing, room))
    return [ids[n] for n in names]


class Receiver:
    def __init__(self, a):
        self.a = a
        self.janus = Janus(a.janus)
        self.loop = GLib.MainLoop()
        self.pipe = Gst.Pipeline.new("bare")
        self.webrtc = Gst.ElementFactory.make("webrtcbin", "recv")
        # Janus bundles everything on one transport (its offer's
        # a=group:BUNDLE); webrtcbin's default policy would not follow it.
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.pipe.add(self.webrtc)
        self.mux_pads = {}
        if not a.discard:
            self.mux = Gst.ElementFactory.make("matroskamux", "mux")
            sink = Gst.ElementFactory.make("filesink", "sink")
            sink.set_property("location", a.out)
            for e in (self.mux, sink):
                self.pipe.add(e)
            self.mux.link(sink)
            # The file is complete when the muxer's end reaches it (the
            # pipeline never posts EOS: webrtcbin's own sinks never end).
            sink.get_static_pad("sink").add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM,
                                                  self.on_sink_event)
            # Both muxer inputs from the start: matroskamux takes no new
            # stream once it has begun writing.
            self.mux_pads = {"VP8": self.mux.request_pad_simple("video_%u"),
                             "OPUS": self.mux.request_pad_simple("audio_%u")}
        self.webrtc.connect("pad-added", self.on_pad)
        self.webrtc.connect("on-ice-candidate", self.on_candidate)
        self.webrtc.connect("notify::ice-gathering-state", self.on_gathering)
        self.pipe.get_bus().add_signal_watch()
        self.pipe.get_bus().connect("message", self.on_message)
        self.linked = set()
        self.depays = []
        self.error = None
        # Requests from webrtcbin's threads go out in order from one
        # thread of their own: no streaming thread waits on HTTP.
        self.outbox = queue.Queue()
        threading.Thread(target=self.send_loop, daemon=True).start()

    def send(self, body):
        self.outbox.put(body)

    def send_loop(self):
        while True:
            body = self.outbox.get()
            try:
                self.janus.call("/%s/%s" % (self.sid, self.hid), body)
            except OSError as e:
                GLib.idle_add(self.fail, "Janus %s: %s" % (body.get("janus"), e))

    # -- signalling (HTTP calls run on the main loop or the poll thread)
    def start(self):
        r = self.janus.call("", {"janus": "create"})
        self.sid = r["data"]["id"]
        r = self.janus.call("/%s" % self.sid,
                            {"janus": "attach", "plugin": "janus.plugin.videoroom"})
        self.hid = r["data"]["id"]
        feeds = feeds_of(self.janus, self.sid, self.hid, self.a.room, self.a.participant)
        self.pipe.set_state(Gst.State.PLAYING)
        self.janus.call("/%s/%s" % (self.sid, self.hid),
                        {"janus": "message",
                         "body": {"request": "join", "ptype": "subscriber", "room": self.a.room,
                                  "streams": [{"feed": f} for f in feeds]}})
        threading.Thread(target=self.poll_loop, daemon=True).start()

    def poll_loop(self):
        while True:
            try:
                ev = self.janus.poll(self.sid)
            except OSError as e:
                GLib.idle_add(self.fail, "event poll: %s" % e)
                return
            jsep = ev.get("jsep")
            if jsep and jsep.get("type") == "offer":
                GLib.idle_add(self.on_offer, jsep["sdp"])

    def on_offer(self, sdp):
        _, msg = GstSdp.SDPMessage.new_from_text(sdp)
        offer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, msg)
        self.webrtc.emit("set-remote-description", offer,
                         Gst.Promise.new_with_change_func(self.on_remote_set))
        return False

    def on_remote_set(self, promise):
        if self.a.nack:
            for i in range(16):
                t = self.webrtc.emit("get-transceiver", i)
                if t is None:
                    break
                t.set_property("do-nack", True)
        self.webrtc.emit("create-answer", None,
                         Gst.Promise.new_with_change_func(self.on_answer))

    def on_answer(self, promise):
        reply = promise.get_reply()
        answer = reply.get_value("answer") if reply and reply.has_field("answer") else None
        if answer is None or answer.sdp is None:
            GLib.idle_add(self.fail, "no answer: %s" % (reply.to_string() if reply else None))
            return
        self.webrtc.emit("set-local-description", answer, Gst.Promise.new())
        self.send({"janus": "message", "body": {"request": "start"},
                   "jsep": {"type": "answer", "sdp": answer.sdp.as_text()}})

    def on_candidate(self, _el, mline, cand):
        self.send({"janus": "trickle", "candidate": {"candidate": cand, "sdpMLineIndex": mline}})

    def on_gathering(self, el, _pspec):
        if el.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            self.send({"janus": "trickle", "candidate": {"completed": True}})

    # -- media
    def on_pad(self, _el, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        caps = pad.get_current_caps() or pad.query_caps(None)
        enc = caps.get_structure(0).get_string("encoding-name") or ""
        print("bare_receiver: pad %s: %s" % (pad.get_name(), caps.to_string()), flush=True)
        if self.a.discard:
            return self.discard(pad, enc.upper())
        depay = {"VP8": "rtpvp8depay", "OPUS": "rtpopusdepay"}.get(enc.upper())
        enc = enc.upper()
        if not depay or enc in self.linked:
            fakesink = Gst.ElementFactory.make("fakesink")
            self.pipe.add(fakesink)
            fakesink.sync_state_with_parent()
            pad.link(fakesink.get_static_pad("sink"))
            return
        self.linked.add(enc)
        d = Gst.ElementFactory.make(depay)
        self.depays.append(d)
        if enc == "VP8":
            # the muxer needs the picture size before anything else: from
            # the first keyframe (keyframe requests stay off, as default)
            d.set_property("wait-for-keyframe", True)
        q = Gst.ElementFactory.make("queue")
        self.pipe.add(d)
        self.pipe.add(q)
        d.link(q)
        q.get_static_pad("src").link(self.mux_pads[enc.upper()])
        for e in (q, d):
            e.sync_state_with_parent()
        pad.link(d.get_static_pad("sink"))
        print("bare_receiver: receiving %s" % enc, flush=True)

    def discard(self, pad, enc):
        """Depayloaded into a fakesink: what receiving costs, nothing more."""
        depay = {"VP8": "rtpvp8depay", "H264": "rtph264depay", "OPUS": "rtpopusdepay"}.get(enc)
        if not depay:
            GLib.idle_add(self.fail, "cannot depayload %s" % enc)
            return
        d = Gst.ElementFactory.make(depay)
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        sink.set_property("async", False)
        self.pipe.add(d)
        self.pipe.add(sink)
        d.link(sink)
        for e in (sink, d):
            e.sync_state_with_parent()
        pad.link(d.get_static_pad("sink"))
        self.depays.append(d)
        print("bare_receiver: receiving %s" % enc, flush=True)

    def on_sink_event(self, _pad, info):
        if info.get_event().type == Gst.EventType.EOS:
            GLib.idle_add(self.loop.quit)
        return Gst.PadProbeReturn.OK

    def on_message(self, _bus, msg):
        if msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            self.fail("%s (%s)" % (err.message, dbg))

    def fail(self, why):
        self.error = why
        self.loop.quit()
        return False

    def finish(self):
        # webrtcbin's sources never end: the end goes in after them.
        if not self.depays:
            return self.fail("nothing received")
        if self.a.discard:  # nothing to finalise
            self.loop.quit()
            return False
        for d in self.depays:
            d.get_static_pad("sink").send_event(Gst.Event.new_eos())
        for enc, pad in self.mux_pads.items():
            if enc not in self.linked:
                pad.send_event(Gst.Event.new_eos())
        GLib.timeout_add_seconds(5, self.fail, "no EOS 5 s after the end")
        return False

    def run(self):
        self.start()
        GLib.timeout_add(int(self.a.seconds * 1000), self.finish)
        # SIGTERM ends it early, as the time would (the Janus session
        # destroyed, a file finalised)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, self.finish)
        self.loop.run()
        self.pipe.set_state(Gst.State.NULL)
        try:
            self.janus.call("/%s" % self.sid, {"janus": "destroy"})
        except OSError:
            pass
        if self.error:
            print("bare_receiver: %s" % self.error, file=sys.stderr)
            return 1
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--janus", required=True)
    ap.add_argument("--room", type=int, default=1234)
    ap.add_argument("--participant", required=True, action="append",
                    help="display name of a publisher (several with --discard)")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--out", help="the MKV file (one participant)")
    ap.add_argument("--discard", action="store_true",
                    help="depayload every stream into a fakesink, write nothing")
    ap.add_argument("--nack", action="store_true")
    a = ap.parse_args()
    if a.discard == bool(a.out) or (a.out and len(a.participant) != 1):
        ap.error("either --out with one --participant, or --discard")
    Gst.init(None)
    started = time.time()
    rc = Receiver(a).run()
    print("bare_receiver: done after %.1f s, rc %d" % (time.time() - started, rc), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
