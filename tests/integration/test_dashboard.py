"""`egress dashboard` seen in a browser (headless Chromium) against a worker:
a participant egress with a file and an images output runs while a second
one fails (no such room). The page, once its script ran, lists both with
the status, worker, outputs and error the status topic says (read
independently, with kcat); a page kept open turns the first one
`complete` by itself when it is stopped (no reload: the page's own polling
of /api/egresses, the dashboard reading the topic all along), with its
outputs and its latest thumbnail, which /thumb serves as the JPEG on disk;
/thumb serves nothing else. The failing request's room PIN is nowhere on
the page or in its JSON. A screenshot of the page is a 1280x800 PNG with
something on it."""

import json
import os
import re
import subprocess
import time
from html.parser import HTMLParser

import egwtest
from egwtest import expect
import chromium  # noqa: E402  (tests/tools: egwtest puts it on the path)

HTTP = "127.0.0.1:9481"
URL = "http://%s/" % HTTP
SMALL = {"width": 640, "height": 360, "fps": 25}
EVERY_S = 1
PIN = "dash-pin-SEKRIT"  # a secret of a request: never on the page


class Rows(HTMLParser):
    """The dashboard's table: {egress id: row}, each row {"status" (its
    data-status), "cells": {class: text}, "outputs": [(kind, state)],
    "img": the thumbnail's attributes}; polls: the page's data-polls."""

    def __init__(self, html):
        super().__init__()
        self.rows, self.polls = {}, 0
        self._row, self._cell, self._depth = None, None, 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "body":
            self.polls = int(a.get("data-polls") or 0)
        elif tag == "tr" and "egress" in (a.get("class") or "").split():
            self._row = {"status": a.get("data-status"), "cells": {}, "outputs": [],
                         "img": None}
            self.rows[a.get("data-id")] = self._row
        elif self._row is not None and tag == "td":
            self._cell = a.get("class")
            self._row["cells"][self._cell] = ""
        elif self._row is not None and tag == "li" and "output" in (a.get("class") or ""):
            self._row["outputs"].append((a.get("data-kind"), a.get("data-state")))
        elif self._row is not None and tag == "img":
            self._row["img"] = a

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._row is not None and self._cell:
            self._row["cells"][self._cell] += data


def last_event(env, egress_id):
    events = env.status.events(egress_id)
    expect(events, "the status topic has events of %s" % egress_id)
    return events[-1]


def expect_row(rows, ev, what):
    """The row of ev's egress shows what ev says."""
    eid = ev["egress_id"]
    row = rows.get(eid)
    expect(row is not None, "%s: %s is listed" % (what, eid))
    cell = row["cells"]
    expect(row["status"] == ev["status"] and cell["status"].startswith(ev["status"]),
           "%s: %s is %s, as on the topic (%s)" % (what, eid, row["status"], ev["status"]))
    expect(cell["worker"] == ev["worker_id"], "%s: its worker %s" % (what, cell["worker"]))
    want = [(o["kind"], o.get("state") or ("failed" if o.get("error") else ev["status"]))
            for o in ev.get("outputs") or []]
    if want or ev["status"] in ("complete", "failed", "aborted"):
        expect(row["outputs"] == want, "%s: outputs and their states %s (topic: %s)"
               % (what, row["outputs"], want))
    if ev.get("error"):
        expect(cell["error"] == ev["error"]["code"] + ev["error"]["message"],
               "%s: the error shown: %s" % (what, cell["error"]))
    else:
        expect(cell["error"] == "\u2014", "%s: no error shown" % what)
    if ev.get("started_at"):
        expect(cell["started"] == ev["started_at"][:19].replace("T", " ") + " UTC",
               "%s: started %s" % (what, cell["started"]))
        expect(re.match(r"^(\d+:)?\d+:\d\d$", cell["duration"]),
               "%s: a duration %s" % (what, cell["duration"]))
    return row


def load(w, what):
    html = chromium.dump_dom(w, URL)
    rows = Rows(html)
    print("%s: %s" % (what, json.dumps(rows.rows)), flush=True)
    expect(PIN not in html, "%s: no secret on the page" % what)
    return rows


def get(w, path):
    """(HTTP status, body bytes) of GET path on the dashboard."""
    out = os.path.join(w.dir, "http-body")
    r = w.call(["curl", "-sS", "-m", "5", "-o", out, "-w", "%{http_code}",
                "http://%s%s" % (HTTP, path)], check=False)
    with open(out, "rb") as f:
        return int(r.stdout or 0), f.read()


def png_colours(path):
    """(width, height, distinct colours, share of the commonest) of a PNG,
    decoded by FFmpeg."""
    import numpy
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", path],
        stdout=subprocess.PIPE, check=True).stdout)["streams"][0]
    expect(probe["codec_name"] == "png", "the screenshot is a PNG: %s" % probe["codec_name"])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt",
                          "rgb24", "-"], stdout=subprocess.PIPE, check=True).stdout
    px = numpy.frombuffer(raw, dtype=numpy.uint8).reshape(-1, 3)
    packed = (px[:, 0].astype(numpy.uint32) << 16) | (px[:, 1].astype(numpy.uint32) << 8) | px[:, 2]
    _, counts = numpy.unique(packed, return_counts=True)
    return probe["width"], probe["height"], len(counts), counts.max() / len(packed)


def test():
    with egwtest.Env("dashboard") as env:
        w = env.w
        alice = w.start_publisher("alice", color="20c040", freq=500, video="vp8")
        alice.wait_for("webrtcup", 30)
        env.submit(env.job("EG_dash", {"kind": "participant", "participant": "alice"},
                           [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"},
                            {"kind": "images", "prefix": "img/{egress_id}", "every_s": EVERY_S,
                             "width": 320}], encoding=SMALL))
        gone = env.job("EG_dashfail", {"kind": "participant", "participant": "alice"},
                       [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}])
        gone["room"].update(room_id=987654, pin=PIN)  # no such room
        env.submit(gone)
        env.wait("EG_dash", "active", 60)
        env.wait("EG_dashfail", "failed", 60)

        dash = w.run(["env", "EGRESS_KAFKA_BROKERS=" + env.bootstrap, egwtest.EGRESS,
                      "dashboard", "--listen", HTTP], name="dashboard")
        w.wait_log("dashboard", "read to its end", 30)
        expect("dashboard: %s" % URL in w.log_text("dashboard"), "it prints its URL")

        # The page as a browser renders it, its script having run.
        rows = load(w, "first load")
        expect(rows.polls >= 2, "the page polled /api/egresses repeatedly (%d)" % rows.polls)
        expect_row(rows.rows, last_event(env, "EG_dash"), "first load")
        expect_row(rows.rows, last_event(env, "EG_dashfail"), "first load")

        # A page kept open sees the stop: no reload.
        with chromium.Page(w, URL) as page:
            expect(page.wait("!!document.querySelector('#egress-EG_dash')", 20),
                   "the open page lists EG_dash")
            page.eval("window.loadedOnce = 'yes'")
            polls = int(page.eval("document.body.dataset.polls") or 0)
            r = w.call(["env", "EGRESS_KAFKA_BROKERS=" + env.bootstrap, egwtest.EGRESS, "stop",
                        "EG_dash"], check=False)
            expect(r.returncode == 0, "egress stop EG_dash")
            done = env.wait("EG_dash", "complete", 60)
            t0 = time.time()
            status = page.wait("(r => r && r.dataset.status === 'complete' && r.dataset.status)"
                               "(document.querySelector('#egress-EG_dash'))", 15)
            expect(status == "complete", "the open page turned EG_dash complete within %.1f s "
                   "of its final event" % (time.time() - t0))
            expect(page.eval("window.loadedOnce") == "yes" and
                   int(page.eval("document.body.dataset.polls")) > polls,
                   "by its own polling, without a reload")
            size = page.wait("(i => i && i.complete && i.naturalWidth && "
                             "[i.naturalWidth, i.naturalHeight])"
                             "(document.querySelector('#egress-EG_dash img.thumb'))", 15)
            expect(size == [320, 180], "its thumbnail shows in the open page: %s" % size)

        # Loaded again, from the same dashboard process.
        rows = load(w, "after the stop")
        row = expect_row(rows.rows, done, "after the stop")
        expect_row(rows.rows, last_event(env, "EG_dashfail"), "after the stop")
        imgs = [o for o in done["outputs"] if o["kind"] == "images"]
        expect(imgs and imgs[0]["images"] >= 2, "the final event names the thumbnails: %s"
               % imgs)
        img = row["img"] or {}
        expect(img.get("data-loaded") == "1" and img.get("src", "").startswith("/thumb/EG_dash"),
               "the thumbnail <img> loaded: %s" % img)

        # /thumb serves the latest thumbnail the topic names, and nothing else.
        latest = imgs[0]["location"].replace("%05d", "%05d" % (imgs[0]["images"] - 1))
        code, body = get(w, img["src"])
        fetched = os.path.join(w.dir, "thumb.jpg")
        with open(fetched, "wb") as f:
            f.write(body)
        with open(latest, "rb") as f:
            on_disk = f.read()
        expect(code == 200 and body[:3] == b"\xff\xd8\xff" and body == on_disk,
               "GET %s: %d, the JPEG %s (%d bytes)" % (img["src"], code, latest, len(body)))
        probe = json.loads(subprocess.run(
            ["ffprobe", "-v", "error", "-show_streams", "-of", "json", fetched],
            stdout=subprocess.PIPE, check=True).stdout)["streams"][0]
        expect((probe["codec_name"], probe["width"], probe["height"]) == ("mjpeg", 320, 180),
               "it decodes: %s %sx%s" % (probe["codec_name"], probe["width"], probe["height"]))
        for path in ("/thumb/EG_dashfail", "/thumb/EG_nobody", "/thumb/..%2F..%2Fetc%2Fpasswd",
                     "/thumb/" + latest):
            code, _ = get(w, path)
            expect(code == 404, "GET %s: %d" % (path, code))
        code, body = get(w, "/api/egresses")
        api = json.loads(body)
        expect(PIN.encode() not in body, "no secret in /api/egresses")
        expect(code == 200 and api["reader"]["caught_up"] and api["total"] == 2 and
               api["by_status"] == {"complete": 1, "failed": 1},
               "/api/egresses: %s" % {k: api[k] for k in ("total", "by_status", "reader")})

        shot = chromium.screenshot(w, URL, os.path.join(w.dir, "dashboard.png"))
        width, height, colours, commonest = png_colours(shot)
        expect((width, height) == (1280, 800), "the screenshot is 1280x800")
        expect(colours > 50 and commonest < 0.9,
               "and not blank: %d colours, the commonest on %.0f%%" % (colours, commonest * 100))

        expect(w.stop(dash) == 0 and dash.returncode == 0, "the dashboard exits 0 on SIGTERM")


if __name__ == "__main__":
    egwtest.main(test)
