#!/usr/bin/env python3
"""Seeded synthetic data for the video-matching benchmark (hashdb against python-threatexchange's
vPDQ index).

    generate.py OUT_DIR [--videos 10000] [--frames-per-video 100] [--images 1000000]
                        [--queries 40] [--seed 1]

Writes, all deterministic for a given seed and sizes (Python's own `random`, stdlib only):

  OUT_DIR/videos.jsonl     one stored video a line, as `hashdb hash` writes a video record
                           (path, sha256, sha1, md5, media, format, width, height, frame_rate,
                           duration, frames_decoded, frames[{frame, quality, pdq, timestamp}])
                           followed by id, category ("known") and source ("bench")
  OUT_DIR/images.csv       header `id,pdq,quality`, then one random image PDQ hash a line
  OUT_DIR/queries/*.jsonl  one query video each (60 frames), one line in the same record form
                           (id, no category or source)
  OUT_DIR/queries.txt      the query files, relative to OUT_DIR, one a line
  OUT_DIR/queries-plan.tsv what each query was made as: query, kind, source, related (the
                           source and its re-upload or original), note

A stored video is one frame hashed a second (30 fps, frames 0, 30, 60, ...), 3/4 to 5/4 of
--frames-per-video frames long, cut into scenes of 5 to 40 frames. A scene has a random base hash;
its frames are the base with 0 to 8 random bits flipped, or, in a static scene (15 %), the base
itself. Qualities: a scene's level 60..100, frames within 8 of it (at least 60); 3 % of frames are
low quality: half black frames (the all-zero hash, quality 0, as PDQ gives a uniform frame), half
a random hash with quality 1..49. A hash that repeats within a video keeps the quality it was first
given (the same picture). Every 50th video (25, 75, ...) is a re-upload of the one before it: its
frames with 0 to 3 bits flipped (none for half of them), trimmed to at least 4/5 of its length, so
some frame hashes are shared between two stored videos.

Queries cycle through four kinds:
  near      a 60-frame window of a stored video (every other one a video with a re-upload), each
            frame with 0 to 10 bits flipped, qualities within 5 (a 40..49 frame may rise to 50+):
            should match its source (and often the re-upload)
  partial   k frames of a stored video (quality >= 50, 1 to 10 bits flipped) and 60-k random
            frames, all distinct and of quality >= 50; k cycles 30, 48, 47, 30: query match
            50 %, 80 % (the threshold itself: a match), 78.33 % (no match)
  unrelated 60 random frames in scenes: no match
  images    a random 60-frame video with 3 to 8 of its frames replaced by stored image hashes
            (exact): no video match
"""

import argparse
import hashlib
import os
import random
import sys
import time

FPS = 30
WIDTH, HEIGHT = 640, 360
QUERY_FRAMES = 60
ZERO = 0


def hex64(value):
    return "%064x" % value


def flip(rng, value, bits):
    """value with `bits` distinct random bits of its 256 flipped."""
    if bits == 0:
        return value
    mask = 0
    for b in rng.sample(range(256), bits):
        mask |= 1 << b
    return value ^ mask


def scene_frames(rng, count):
    """`count` frames (hash, quality) of a scene-cut video; repeated hashes keep one quality."""
    frames = []
    quality_of = {}
    while len(frames) < count:
        length = min(count - len(frames), rng.randint(5, 40))
        base = rng.getrandbits(256)
        static = rng.random() < 0.15
        level = rng.randint(60, 100)
        for _ in range(length):
            if rng.random() < 0.03:
                if rng.random() < 0.5:
                    h, q = ZERO, 0
                else:
                    h, q = rng.getrandbits(256), rng.randint(1, 49)
            else:
                h = base if static else flip(rng, base, rng.randint(0, 8))
                q = max(60, min(100, level + rng.randint(-8, 8)))
            q = quality_of.setdefault(h, q)
            frames.append((h, q))
    return frames


def reupload(rng, source):
    """A re-encoded copy of `source` frames: 0..3 flips (none for half), trimmed to >= 4/5."""
    n = len(source)
    keep = rng.randint((4 * n + 4) // 5, n)
    start = rng.randint(0, n - keep)
    frames = []
    quality_of = {}
    for h, q in source[start:start + keep]:
        bits = 0 if rng.random() < 0.5 else rng.randint(1, 3)
        h2 = flip(rng, h, bits)
        frames.append((h2, quality_of.setdefault(h2, q)))
    return frames


def record(vid, path, frames, labels=True):
    """One video record, as `hashdb hash` writes it (compact JSON, its field order), plus
    id and, with labels, category and source."""
    digest = vid.encode()
    parts = []
    for i, (h, q) in enumerate(frames):
        frame = i * FPS
        parts.append('{"frame":%d,"quality":%d,"pdq":"%064x","timestamp":%.3f}' % (frame, q, h, frame / FPS))
    n = len(frames)
    return ('{"path":"%s","sha256":"%s","sha1":"%s","md5":"%s","media":"video","format":"mp4",'
            '"width":%d,"height":%d,"frame_rate":%s,"duration":%s,"frames_decoded":%d,"frames":[%s],'
            '"id":"%s"%s}\n') % (
        path, hashlib.sha256(digest).hexdigest(), hashlib.sha1(digest).hexdigest(),
        hashlib.md5(digest).hexdigest(), WIDTH, HEIGHT, repr(float(FPS)), repr(float(n)),
        n * FPS, ",".join(parts), vid, ',"category":"known","source":"bench"' if labels else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--videos", type=int, default=10000)
    ap.add_argument("--frames-per-video", type=int, default=100)
    ap.add_argument("--images", type=int, default=1000000)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.frames_per_video < 80:
        sys.exit("--frames-per-video must be at least 80 (queries take 60-frame windows)")
    if args.videos < 51:
        sys.exit("--videos must be at least 51 (queries need a re-uploaded video)")
    started = time.perf_counter()
    out = args.out_dir
    os.makedirs(os.path.join(out, "queries"), exist_ok=True)

    # Stored videos. Each stream of randomness has its own seed, so changing one size leaves
    # the others' data as it was.
    vrng = random.Random("videos-%d" % args.seed)
    stored = []  # frames per video, index 0 = video-000001
    reuploads = {}  # index of a source -> indices of its re-uploads
    origin = {}  # index of a re-upload -> index of its source
    fpv = args.frames_per_video
    total_frames = 0
    with open(os.path.join(out, "videos.jsonl"), "w") as f:
        for i in range(args.videos):
            if i % 50 == 25:
                frames = reupload(vrng, stored[i - 1])
                reuploads.setdefault(i - 1, []).append(i)
                origin[i] = i - 1
            else:
                frames = scene_frames(vrng, vrng.randint((3 * fpv) // 4, (5 * fpv) // 4))
            stored.append(frames)
            total_frames += len(frames)
            vid = "video-%06d" % (i + 1)
            f.write(record(vid, "stored/%s.mp4" % vid, frames))

    # Image hashes.
    irng = random.Random("images-%d" % args.seed)
    images = []
    with open(os.path.join(out, "images.csv"), "w") as f:
        f.write("id,pdq,quality\n")
        rows = []
        for i in range(args.images):
            h = irng.getrandbits(256)
            q = irng.randint(0, 49) if irng.random() < 0.03 else irng.randint(60, 100)
            images.append(h)
            rows.append("image-%07d,%064x,%d\n" % (i + 1, h, q))
            if len(rows) == 65536:
                f.write("".join(rows))
                rows = []
        f.write("".join(rows))

    # Queries.
    qrng = random.Random("queries-%d" % args.seed)
    width = max(2, len(str(args.queries)))
    kinds = ["near", "partial", "unrelated", "images"]
    partial_ks = [30, 48, 47, 30]
    with_reupload = sorted(s for s in reuploads if len(stored[s]) >= QUERY_FRAMES)
    long_enough = [i for i, fr in enumerate(stored) if len(fr) >= QUERY_FRAMES]
    vname = lambda i: "video-%06d" % (i + 1)
    family = lambda i: ",".join(vname(x) for x in [origin.get(i, i)] + reuploads.get(origin.get(i, i), []))
    listing, plan = [], []
    counts = {k: 0 for k in kinds}
    for qi in range(args.queries):
        qid = "query-%0*d" % (width, qi + 1)
        kind = kinds[qi % 4]
        if kind == "images" and not images:
            kind = "unrelated"
        n_kind = counts[kind]
        counts[kind] += 1
        source, related, note = "-", "-", ""
        if kind == "near":
            s = qrng.choice(with_reupload) if n_kind % 2 == 0 else qrng.choice(long_enough)
            start = qrng.randint(0, len(stored[s]) - QUERY_FRAMES)
            frames, quality_of = [], {}
            for h, q in stored[s][start:start + QUERY_FRAMES]:
                h2 = flip(qrng, h, qrng.randint(0, 10))
                if q >= 50:
                    q2 = max(50, min(100, q + qrng.randint(-5, 5)))
                elif q >= 40:
                    q2 = min(100, q + qrng.randint(-5, 10))
                else:
                    q2 = q
                frames.append((h2, quality_of.setdefault(h2, q2)))
            source = vname(s)
            related = family(s)
            note = "hashes %d..%d of %s, 0-10 bits flipped" % (start, start + QUERY_FRAMES - 1, source)
        elif kind == "partial":
            k = partial_ks[n_kind % len(partial_ks)]
            while True:
                s = qrng.choice(long_enough)
                good = [fr for fr in stored[s] if fr[1] >= 50]
                if len(good) >= k:
                    break
            start = qrng.randint(0, len(good) - k)
            frames, seen = [], set()
            for h, q in good[start:start + k]:
                while True:
                    h2 = flip(qrng, h, qrng.randint(1, 10))
                    if h2 not in seen:
                        break
                seen.add(h2)
                frames.append((h2, max(50, min(100, q + qrng.randint(-5, 5)))))
            others = [(qrng.getrandbits(256), qrng.randint(60, 100)) for _ in range(QUERY_FRAMES - k)]
            cut = qrng.randint(0, len(others))
            frames = others[:cut] + frames + others[cut:]
            source = vname(s)
            related = family(s)
            note = "%d of %d frames from %s (query match %.2f %%)" % (k, QUERY_FRAMES, source, k * 100 / QUERY_FRAMES)
        elif kind == "unrelated":
            frames = scene_frames(qrng, QUERY_FRAMES)
            note = "random scenes"
        else:
            frames = scene_frames(qrng, QUERY_FRAMES)
            m = qrng.randint(3, 8)
            positions = sorted(qrng.sample(range(QUERY_FRAMES), m))
            picked = [qrng.randrange(len(images)) for _ in positions]
            for p, im in zip(positions, picked):
                frames[p] = (images[im], qrng.randint(60, 100))
            note = "random scenes, frames %s = %s" % (
                ",".join(map(str, positions)), ",".join("image-%07d" % (im + 1) for im in picked))
        rel = "queries/%s.jsonl" % qid
        with open(os.path.join(out, rel), "w") as f:
            f.write(record(qid, "queries/%s.mp4" % qid, frames, labels=False))
        listing.append(rel)
        plan.append("\t".join([qid, kind, source, related, note]))
    with open(os.path.join(out, "queries.txt"), "w") as f:
        f.write("".join(line + "\n" for line in listing))
    with open(os.path.join(out, "queries-plan.tsv"), "w") as f:
        f.write("query\tkind\tsource\trelated\tnote\n")
        f.write("".join(line + "\n" for line in plan))
    print("wrote %s: %d videos (%d frames, %d re-uploads), %d images, %d queries in %.1f s" % (
        out, args.videos, total_frames, sum(len(v) for v in reuploads.values()), args.images,
        args.queries, time.perf_counter() - started), file=sys.stderr)


if __name__ == "__main__":
    main()
