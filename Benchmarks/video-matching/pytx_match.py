#!/usr/bin/env python3
"""The python-threatexchange side of the video-matching benchmark: its vPDQ index (VPDQIndex,
a faiss IndexBinaryFlat over the distinct frame hashes) on generate.py's data.

    pytx_match.py OUT_DIR [--rounds 5] [--threads 1]

1. Reads OUT_DIR/videos.jsonl and turns each record's frames into the vPDQ signal string a user
   of the library stores (VpdqCompactFeature per frame, vpdq_to_json): "load".
2. VPDQIndex.build over (signal string, video id): "build", timed alone.
3. Turns every query in OUT_DIR/queries.txt into its signal string the same way, then times
   VPDQIndex.query on all of them, --rounds times (in-process, time.perf_counter; the signal
   strings are made before the clock starts, parsing them is the library's and is timed).
   The library's thresholds: distance 31, quality 50, query match >= 80 %, compared >= 0 %.
4. Writes OUT_DIR/pytx-verdicts.tsv: query, entry (stored video id), query_percent,
   compared_percent (2 decimals), one row per matching pair, sorted by query then entry.
5. Cross-check: the index again with a query threshold of 0 % gives every candidate (a stored
   video sharing any frame within distance 31); each candidate, and each stored video
   queries-plan.tsv names as related, is compared with the query by the library's brute-force
   rule (vpdq_brute_matcher.match_VPDQ_hash_brute); any difference in percents or verdict is
   printed.

Prints RESULT lines; memory: VmRSS before loading, after loading and after the build (the
loaded signal strings freed), and the peak (ru_maxrss).
"""

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import time
from importlib import metadata

import faiss
from threatexchange.extensions.vpdq.vpdq_brute_matcher import match_VPDQ_hash_brute
from threatexchange.extensions.vpdq.vpdq_index import VPDQIndex
from threatexchange.extensions.vpdq.vpdq_util import (
    VPDQ_DISTANCE_THRESHOLD,
    VPDQ_INDEX_MATCH_THRESHOLD_PERCENT,
    VPDQ_QUALITY_THRESHOLD,
    VPDQ_QUERY_MATCH_THRESHOLD_PERCENT,
    VpdqCompactFeature,
    vpdq_to_json,
)


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def features(record):
    return [VpdqCompactFeature(fr["pdq"], fr["quality"], float(fr["timestamp"])) for fr in record["frames"]]


def passes(query_percent, compared_percent):
    return query_percent >= VPDQ_QUERY_MATCH_THRESHOLD_PERCENT and compared_percent >= VPDQ_INDEX_MATCH_THRESHOLD_PERCENT


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="faiss (OpenMP) threads; default 1")
    args = ap.parse_args()
    out = args.out_dir
    faiss.omp_set_num_threads(args.threads)
    print("threatexchange %s, faiss-cpu %s, vpdq %s, python %s, faiss threads %d" % (
        metadata.version("threatexchange"), faiss.__version__, metadata.version("vpdq"),
        sys.version.split()[0], args.threads))
    rss0 = rss_mib()

    # 1. Load: the stored videos as signal strings.
    t0 = time.perf_counter()
    entries = []
    frames = 0
    with open(os.path.join(out, "videos.jsonl")) as f:
        for line in f:
            record = json.loads(line)
            feats = features(record)
            frames += len(feats)
            entries.append((vpdq_to_json(feats), record["id"]))
    load_s = time.perf_counter() - t0
    rss_loaded = rss_mib()

    # 2. Build.
    t0 = time.perf_counter()
    index = VPDQIndex.build(entries)
    build_s = time.perf_counter() - t0
    n_videos = len(entries)
    del entries, record, feats
    gc.collect()
    rss_built = rss_mib()
    indexed = index.index.faiss_index.ntotal
    print("RESULT pytx build videos=%d frames=%d indexed_hashes=%d load_seconds=%.2f build_seconds=%.2f" % (
        n_videos, frames, indexed, load_s, build_s))

    # 3. Queries.
    with open(os.path.join(out, "queries.txt")) as f:
        files = [line.strip() for line in f if line.strip()]
    queries = []  # (id, features, signal string)
    for rel in files:
        with open(os.path.join(out, rel)) as f:
            record = json.loads(f.readline())
        feats = features(record)
        queries.append((record["id"], feats, vpdq_to_json(feats)))
    times = []
    first = None
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        results = [index.query(signal) for _, _, signal in queries]
        times.append(time.perf_counter() - t0)
        if first is None:
            first = results
    median = statistics.median(times)
    print("RESULT pytx query queries=%d rounds=%d median_seconds=%.4f best_seconds=%.4f "
          "videos_per_second=%.2f best_videos_per_second=%.2f ms_per_video=%.2f" % (
              len(queries), args.rounds, median, min(times), len(queries) / median,
              len(queries) / min(times), median * 1000 / len(queries)))

    # 4. Verdicts.
    rows = []
    for (qid, _, _), matches in zip(queries, first):
        for m in matches:
            rows.append((qid, m.metadata, m.similarity_info.query_match_percent,
                         m.similarity_info.compared_match_percent))
    rows.sort(key=lambda r: (r[0], r[1]))
    with open(os.path.join(out, "pytx-verdicts.tsv"), "w") as f:
        f.write("query\tentry\tquery_percent\tcompared_percent\n")
        for qid, entry, qp, cp in rows:
            f.write("%s\t%s\t%.2f\t%.2f\n" % (qid, entry, qp, cp))
    print("RESULT pytx verdicts=%d queries_matched=%d of %d (%s)" % (
        len(rows), len({r[0] for r in rows}), len(queries), os.path.join(out, "pytx-verdicts.tsv")))
    print("RESULT pytx memory rss_start_mib=%.0f rss_loaded_mib=%.0f rss_index_mib=%.0f "
          "index_minus_start_mib=%.0f max_rss_mib=%.0f" % (
              rss0, rss_loaded, rss_built, rss_built - rss0,
              resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))

    # 5. Cross-check against the brute-force rule.
    index.query_match_threshold_pct = 0.0
    candidates = {}  # query id -> {entry: (query %, compared %)}
    for qid, _, signal in queries:
        candidates[qid] = {m.metadata: (m.similarity_info.query_match_percent,
                                        m.similarity_info.compared_match_percent) for m in index.query(signal)}
    related = {}
    plan_path = os.path.join(out, "queries-plan.tsv")
    plan = {}
    if os.path.exists(plan_path):
        with open(plan_path) as f:
            next(f)
            for line in f:
                qid, kind, source, rel, note = line.rstrip("\n").split("\t")
                plan[qid] = (kind, source, rel)
                related[qid] = [] if rel == "-" else rel.split(",")
    wanted = set()
    for qid in candidates:
        wanted.update(candidates[qid])
        wanted.update(related.get(qid, []))
    stored = {}
    with open(os.path.join(out, "videos.jsonl")) as f:
        for line in f:
            vid = line[line.rindex('"id":"') + 6:].split('"', 1)[0]
            if vid in wanted:
                stored[vid] = features(json.loads(line))
    verdict_set = {(r[0], r[1]) for r in rows}
    pairs = disagreements = 0
    t0 = time.perf_counter()
    for qid, qfeats, _ in queries:
        for vid in sorted(set(candidates[qid]) | set(related.get(qid, []))):
            pairs += 1
            brute = match_VPDQ_hash_brute(qfeats, stored[vid], VPDQ_QUALITY_THRESHOLD, VPDQ_DISTANCE_THRESHOLD)
            b = (brute.query_match_percent, brute.compared_match_percent)
            ix = candidates[qid].get(vid, (0.0, 0.0))
            if b[0] == 0.0:
                b = (0.0, 0.0)  # no shared frame: not an index candidate at all
            if b != ix or passes(*b) != ((qid, vid) in verdict_set):
                disagreements += 1
                print("DISAGREE %s %s index=%.2f/%.2f brute=%.2f/%.2f" % (qid, vid, ix[0], ix[1], b[0], b[1]))
    print("RESULT pytx cross-check pairs=%d disagreements=%d brute_seconds=%.1f" % (
        pairs, disagreements, time.perf_counter() - t0))

    # Per query: what it was made as, and what matched.
    for qid, _, _ in queries:
        kind, source, _ = plan.get(qid, ("?", "-", "-"))
        got = ["%s %.2f/%.2f" % (r[1], r[2], r[3]) for r in rows if r[0] == qid]
        print("%s\t%s\t%s\t%s" % (qid, kind, source, "; ".join(got) or "no match"))


if __name__ == "__main__":
    main()
