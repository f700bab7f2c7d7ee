#!/usr/bin/env python3
"""Seeded synthetic TMK+PDQF `.tmk` files for the TMK matching benchmark (hashdb against Meta's
TMK through tmkpy).

    make_tmk.py OUT_DIR [--count 100000] [--related 0.01] [--seed 1]
                        [--sources ../shared/conformance/tmk/meta-sample-hashes]

Writes OUT_DIR/NAME.tmk, --count files in all: the real `.tmk` files of --sources (13: Meta's
committed sample hashes) copied byte for byte under their own names, then synthetic ones named
synth-0000001.tmk, ...; and OUT_DIR/plan.tsv (name, base, kind, sigma_pure, sigma_features,
level1_to_base), one row per synthetic file. Deterministic for a given seed and count (numpy's
PCG64 seeded with (seed, file number), so a file does not depend on the count).

Each synthetic file is a variant of one real file (its base, drawn in turn at random):
  - the header, periods and Fourier coefficients are the base's, bytes unchanged (TMK1FVECPDQF,
    fps 15, P=4, m=32, d=256, the base's frame count; periods 2731 4391 9767 14653): 263,344
    bytes, little-endian int32/float32, the layout Meta's C++ reads and writes;
  - the pure average u (256 floats, not unit length in real files) becomes
    |u| * normalise(u/|u| + sigma_pure * g / 16), g standard normal, so its cosine with the base
    is about 1/sqrt(1 + sigma_pure^2);
  - every cos and sin feature vector (4 periods x 32 coefficients x 256) likewise with
    sigma_features and its own noise, scaled back to the base vector's norm (sqrt of the Fourier
    coefficient in real files: TMK's level 2 assumes it); the 4 all-zero sin vectors of
    coefficient 0 stay zero. The level-2 score against the base is then about
    1/sqrt(1 + sigma_features^2).
Kinds: "related" (fraction --related): sigma_pure and sigma_features uniform in [0, 1.3], so
level 1 and level 2 against the base run from 1 down to about 0.6, most above 0.7, some with only
one of the two above; "unrelated" (the rest): both uniform in [1.25, 4], level 1 against the base
about 0.24-0.62 (and near 0 against the other family: the chair and pattern videos are unlike).
"""

import argparse
import glob
import os
import shutil
import sys
import time

import numpy as np

HEADER = 32 + 4 * 4 + 32 * 4          # header, periods, Fourier coefficients (kept as bytes)
PURE = 256
FEATURES = 2 * 4 * 32 * 256
SIZE = HEADER + 4 * (PURE + FEATURES)  # 263,344


def load(path):
    data = open(path, "rb").read()
    if len(data) != SIZE or not data.startswith(b"TMK1FVECPDQF"):
        sys.exit(f"{path}: not a 263,344-byte TMK+PDQF file")
    fps, periods, coefficients, dimension, _ = np.frombuffer(data[12:32], "<i4")
    if (fps, periods, coefficients, dimension) != (15, 4, 32, 256):
        sys.exit(f"{path}: unexpected header")
    pure = np.frombuffer(data[HEADER:HEADER + 4 * PURE], "<f4").astype(np.float64)
    features = np.frombuffer(data[HEADER + 4 * PURE:], "<f4").astype(np.float64).reshape(2, 4, 32, 256)
    return data[:HEADER], pure, features


def perturb(vectors, sigma, rng):
    """Each row (last axis) moved by sigma * unit-variance noise / sqrt(d), rescaled to its norm."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    noisy = unit + sigma * rng.standard_normal(vectors.shape) / np.sqrt(vectors.shape[-1])
    noisy_norms = np.linalg.norm(noisy, axis=-1, keepdims=True)
    out = noisy / noisy_norms * norms
    return np.where(norms > 0, out, 0.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=100000)
    ap.add_argument("--related", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--sources", default=os.path.join(here, "..", "..", "..", "shared", "conformance", "tmk", "meta-sample-hashes"))
    a = ap.parse_args()
    sources = sorted(glob.glob(os.path.join(a.sources, "*.tmk")))
    if not sources:
        sys.exit(f"no .tmk files in {a.sources}")
    if a.count < len(sources):
        sys.exit(f"--count must be at least {len(sources)} (the real files)")
    os.makedirs(a.out, exist_ok=True)
    bases = [load(p) for p in sources]
    names = [os.path.basename(p) for p in sources]
    for path in sources:
        shutil.copyfile(path, os.path.join(a.out, os.path.basename(path)))
    choose = np.random.default_rng([a.seed, 0])
    t0 = time.time()
    with open(os.path.join(a.out, "plan.tsv"), "w") as plan:
        plan.write("name\tbase\tkind\tsigma_pure\tsigma_features\tlevel1_to_base\n")
        for number in range(1, a.count - len(sources) + 1):
            base = int(choose.integers(len(bases)))
            related = choose.random() < a.related
            low, high = (0.0, 1.3) if related else (1.25, 4.0)
            sigma_pure, sigma_features = choose.uniform(low, high, 2)
            rng = np.random.default_rng([a.seed, number])
            head, pure, features = bases[base]
            new_pure = perturb(pure, sigma_pure, rng).astype("<f4")
            new_features = perturb(features, sigma_features, rng).astype("<f4")
            name = f"synth-{number:07d}.tmk"
            with open(os.path.join(a.out, name), "wb") as f:
                f.write(head)
                f.write(new_pure.tobytes())
                f.write(new_features.tobytes())
            p32 = pure.astype(np.float32)
            level1 = float(np.dot(p32, new_pure) / (np.linalg.norm(p32) * np.linalg.norm(new_pure)))
            plan.write(f"{name}\t{names[base]}\t{'related' if related else 'unrelated'}\t"
                       f"{sigma_pure:.4f}\t{sigma_features:.4f}\t{level1:.6f}\n")
    print(f"wrote {a.count} files ({len(sources)} real) to {a.out} in {time.time() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
