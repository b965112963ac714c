"""Signal analysis of check_media.py: frame colours and flashes, marker
beeps, dominant tones, frame rate. Pure numpy on what check_media.py
decodes; see its docstring for the marker pattern."""

import numpy as np

SR = 48000
BEEP_HZ = 3000.0
BEEP_LEN_S = 0.100
# Beep envelope detector: complex demodulation at the beep frequency followed
# by a low-pass made of DET_STAGES rectangular windows of DET_L samples
# (total length STAGES*(L-1)+1, symmetric: the 50 % point of a step lags by
# STAGES*(L-1)/2). 10 ms windows put nulls every 100 Hz (other participants'
# beeps 500 Hz apart fall on one) and three stages keep any component >= 500
# Hz away below -70 dB, so neither other beeps nor steady tones reach the
# thresholds below.
DET_L = 480
DET_STAGES = 3
DET_DELAY = DET_STAGES * (DET_L - 1) / 2.0
BEEP_MIN_LEVEL = 0.003   # envelope amplitude (full scale 1): ~ -50 dBFS
BEEP_REL_LEVEL = 0.02    # of the loudest beep: quieter beeps of the same file still count
SILENCE_RMS = 1e-3       # spectrum windows below -60 dBFS are silence
MAX_SPECTRA = 400
FLASH_MIN_RISE = 40.0   # whiteness levels between the baseline and the flash
FLASH_MAX_LEN_S = 0.5   # longer bright runs are content, not markers
FLASH_LEN_S = 0.1       # the test publisher's flash (tests/tools/egw_publish_pattern.c)


# ---------------------------------------------------------------- video

def yuv_to_rgb(y, u, v, full_range):
    if full_range:
        yy, uu, vv = y, u - 128.0, v - 128.0
        r = yy + 1.402 * vv
        g = yy - 0.344136 * uu - 0.714136 * vv
        b = yy + 1.772 * uu
    else:
        yy, uu, vv = 1.164383 * (y - 16.0), u - 128.0, v - 128.0
        r = yy + 1.596027 * vv
        g = yy - 0.391762 * uu - 0.812968 * vv
        b = yy + 2.017232 * uu
    return [int(round(min(255.0, max(0.0, c)))) for c in (r, g, b)]


def analyse_video(frames, t0, full_range):
    """frames: [(t, Y, U, V)] on the decode timeline; t0 added back."""
    res = {"frames": len(frames)}
    if not frames:
        return res, []
    frames = sorted(frames)
    ts = np.array([f[0] for f in frames]) + t0
    ys = np.array([f[1] for f in frames])
    us = np.array([f[2] if f[2] is not None else 128.0 for f in frames])
    vs = np.array([f[3] if f[3] is not None else 128.0 for f in frames])
    res["first_pts"] = round(float(ts[0]), 6)
    res["last_pts"] = round(float(ts[-1]), 6)
    if len(ts) > 1:
        d = np.diff(ts)
        k = int(np.argmax(d))
        res["max_frame_gap_ms"] = round(float(d[k]) * 1000, 1)
        res["max_frame_gap_at"] = round(float(ts[k]), 3)
        res["median_frame_interval_ms"] = round(float(np.median(d)) * 1000, 2)
        span = ts[-1] - ts[0]
        res["fps"] = round((len(ts) - 1) / span, 3) if span > 0 else None
    # Flashes: runs of frames much whiter than usual. Whiteness = luma minus
    # the chroma's distance from neutral, so a bright colour (yellow: Y 210)
    # does not hide a white flash (Y 235, neutral chroma).
    white = ys - np.abs(us - 128.0) - np.abs(vs - 128.0)
    base, peak = float(np.median(white)), float(np.max(white))
    flashes, late, short, flagged = [], [], [], np.zeros(len(ys), bool)
    if peak - base >= FLASH_MIN_RISE and peak >= 150:
        thr = base + 0.5 * (peak - base)
        above = white >= thr
        i = 0
        frame_dur = float(np.median(np.diff(ts))) if len(ts) > 1 else 0.0
        # frames a whole flash covers at this rate, whatever its phase
        min_frames = int(FLASH_LEN_S / frame_dur + 1e-6) if frame_dur > 0 else 0
        while i < len(ys):
            if not above[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(ys) and above[j + 1]:
                j += 1
            run_len = ts[j] - ts[i] + frame_dur
            if run_len <= FLASH_MAX_LEN_S and i > 0:   # a run open at the start has no onset
                flashes.append(float(ts[i]))
                # frames missing right before it (lost on the network): its
                # true onset may lie in that gap, so its time is a bound
                if ts[i] - ts[i - 1] > 1.5 * frame_dur:
                    late.append(round(float(ts[i]), 4))
                # fewer white frames than a flash covers: some of its frames
                # came damaged (decoded, not white), maybe its first
                if j - i + 1 < min_frames:
                    short.append(round(float(ts[i]), 4))
                # the run, plus a frame either side (encoder ramp)
                flagged[max(0, i - 1): min(len(ys), j + 3)] = True
            i = j + 1
        res["flash_threshold"] = round(thr, 1)
    res["whiteness_baseline"] = round(base, 1)
    res["flashes"] = [round(t, 4) for t in flashes]
    res["flashes_after_gap"] = late
    res["flashes_short"] = short
    if len(flashes) > 1:
        res["max_flash_interval_s"] = round(float(np.max(np.diff(flashes))), 3)
    keep = ~flagged
    if keep.any():
        y, u, v = float(ys[keep].mean()), float(us[keep].mean()), float(vs[keep].mean())
        res["mean_yuv"] = [round(y, 1), round(u, 1), round(v, 1)]
        rgb = yuv_to_rgb(y, u, v, full_range)
        res["mean_rgb"] = rgb
        res["mean_color"] = "%02x%02x%02x" % tuple(rgb)
    return res, flashes


# ---------------------------------------------------------------- audio

def beep_envelope(x, beep_hz=BEEP_HZ):
    """Amplitude of the beep_hz component; env[i] covers samples up to i
    (a step's 50 % point lags by DET_DELAY samples)."""
    n = np.arange(len(x))
    z = x.astype(np.float64) * np.exp(-2j * np.pi * beep_hz / SR * n)

    def rect(a):
        c = np.cumsum(a)
        out = c.copy()
        out[DET_L:] = c[DET_L:] - c[:-DET_L]
        return out

    y = z
    for _ in range(DET_STAGES):
        y = rect(y)
    return 2.0 * np.abs(y) / float(DET_L) ** DET_STAGES


def find_beeps(x, beep_hz=BEEP_HZ):
    """Beep onsets in seconds since sample 0 (sub-sample), and [start, end)
    sample ranges of the beeps (for masking)."""
    if len(x) < 4 * DET_L:
        return [], []
    env = beep_envelope(x, beep_hz)
    emax = float(env.max())
    if emax < BEEP_MIN_LEVEL:
        return [], []
    above = env > max(BEEP_MIN_LEVEL, BEEP_REL_LEVEL * emax)
    idx = np.flatnonzero(np.diff(above.astype(np.int8)))
    # run boundaries
    starts = list(idx[~above[idx]] + 1) if len(idx) else []
    ends = list(idx[above[idx]] + 1) if len(idx) else []
    if above[0]:
        starts = [0] + starts
    if above[-1]:
        ends = ends + [len(x)]
    runs = []
    for s, e in zip(starts, ends):
        if runs and s - runs[-1][1] < 0.02 * SR:   # merge dropouts inside one beep
            runs[-1][1] = e
        else:
            runs.append([s, e])
    onsets, ranges = [], []
    for s, e in runs:
        dur = (e - s) / SR
        if dur < 0.03 or dur > 0.5 or s == 0:   # a run open at the start has no onset
            continue
        p = float(env[s:e].max())
        half = 0.5 * p
        lo = max(1, s - 4 * DET_L)
        seg = env[lo:e]
        k = int(np.argmax(seg >= half)) + lo   # first crossing
        a, b = float(env[k - 1]), float(env[k])
        frac = (half - a) / (b - a) if b > a else 0.0
        onset = (k - 1 + frac) - DET_DELAY
        onsets.append(onset / SR)
        ranges.append((max(0, int(onset) - int(0.02 * SR)), min(len(x), e + int(0.02 * SR))))
    return onsets, ranges


def dominant_freqs(x, mask_ranges, beep_hz=BEEP_HZ, max_peaks=8):
    """Peaks of the per-bin MEDIAN spectrum of the 0.5 s Hann windows (hop
    0.25 s) that avoid the beeps and are not silent: a steady tone is in
    every window, a marker beep (or another participant's beep at another
    frequency) in at most 3 of 8, so beeps never show while tones present in
    most of the analysed time do. beep_hz +- 50 Hz excluded.
    [(freq, level_db relative to strongest)], and the strongest level."""
    win = SR // 2
    if len(x) < win:
        win = 1 << int(np.log2(max(len(x), 256)))
        if len(x) < win:
            return [], None
    mask = np.zeros(len(x), bool)
    for s, e in mask_ranges:
        mask[s:e] = True
    cm = np.concatenate([[0], np.cumsum(mask)])
    hop = win // 2
    starts = list(range(0, len(x) - win + 1, hop))
    clean = [s for s in starts if cm[s + win] - cm[s] == 0]
    use = clean if clean else starts
    if len(use) > MAX_SPECTRA:   # evenly spread, bounded memory on long files
        use = [use[int(i)] for i in np.linspace(0, len(use) - 1, MAX_SPECTRA)]
    w = np.hanning(win)
    spectra = []
    for s in use:
        seg = x[s:s + win].astype(np.float64)
        if np.sqrt(np.mean(seg * seg)) < SILENCE_RMS:
            continue
        spectra.append(np.abs(np.fft.rfft(seg * w)) ** 2)
    if not spectra:
        return [], None
    spec = np.sqrt(np.median(np.array(spectra), axis=0)) * 2.0 / w.sum()  # ~ amplitude of a pure tone
    freqs = np.fft.rfftfreq(win, 1.0 / SR)
    top = float(spec.max())
    if top < 1e-3:                                 # silence (< -60 dBFS)
        return [], top
    cand = np.flatnonzero((spec[1:-1] > spec[:-2]) & (spec[1:-1] >= spec[2:])) + 1
    cand = [i for i in cand if freqs[i] > 20 and abs(freqs[i] - beep_hz) > 50]
    if not cand:
        return [], top
    ref = max(spec[i] for i in cand)
    cand = [i for i in cand if spec[i] >= ref * 0.1]   # within 20 dB
    cand.sort(key=lambda i: -spec[i])
    out = []
    for i in cand:
        la, lb, lc = (np.log(max(spec[j], 1e-12)) for j in (i - 1, i, i + 1))
        den = la - 2 * lb + lc
        delta = 0.5 * (la - lc) / den if den != 0 else 0.0
        f = (i + delta) * SR / win
        if any(abs(f - g) < 15 for g, _ in out):
            continue
        out.append((round(float(f), 1), round(20 * np.log10(spec[i] / ref), 1)))
        if len(out) >= max_peaks:
            break
    return out, top


def rms_dbfs(x):
    nz = x[x != 0] if len(x) else x
    if not len(nz):
        return None
    return round(float(20 * np.log10(np.sqrt(np.mean(nz.astype(np.float64) ** 2)) + 1e-12)), 1)


def frame_rate(ts, fps):
    """Constant frame rate against fps: every interval 1/fps within half a
    frame (no duplicates, no gaps), the mean rate within 0.5 %."""
    res = {"expected_fps": fps, "frames": len(ts)}
    if len(ts) < 2:
        return res
    nominal = 1.0 / fps
    d = np.diff(np.asarray(ts))
    dev = d - nominal
    k = int(np.argmax(np.abs(dev)))
    span = float(ts[-1] - ts[0])
    res.update(measured_fps=round((len(ts) - 1) / span, 3) if span > 0 else None,
               max_deviation_ms=round(float(dev[k]) * 1000, 2),
               max_deviation_at=round(float(ts[k]), 4),
               bad_intervals=int(np.sum(np.abs(dev) > 0.5 * nominal)),
               duplicates=int(np.sum(d < 0.5 * nominal)),
               gaps=int(np.sum(d > 1.5 * nominal)))
    return res


def parse_rgb(rgb):
    """"rrggbb" / "#rrggbb" / (r, g, b) -> [r, g, b]."""
    if isinstance(rgb, str):
        h = rgb.lstrip("#")
        if len(h) != 6:
            raise ValueError("colour %r: want RRGGBB" % rgb)
        return [int(h[i:i + 2], 16) for i in (0, 2, 4)]
    return [int(c) for c in rgb]


def color_distance(a, b):
    """Largest per-channel difference, 0-255."""
    return max(abs(x - y) for x, y in zip(parse_rgb(a), parse_rgb(b)))
