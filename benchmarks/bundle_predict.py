"""`Bundle.predict` on many records: one ONNX Runtime call (baseline) vs `batch_rows` chunks.

Each side runs in a fresh Python process on the same bundle and the same records (100,000
digit images by default, as nested lists of pixel values — what a JSON client sends):

    baseline  bundle.predict(records, batch_rows=len(records))   # every record in one call
    chunked   bundle.predict(records)                            # batch_rows=BATCH_ROWS

Measured: rows/s of the predict call, resident memory just before it, and the process's
peak resident memory (VmHWM, which starts afresh at exec); the answers must be identical.

    .venv/bin/python benchmarks/bundle_predict.py [--rows 100000] [--batch-rows N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import hashlib, json, sys, time
import numpy as np
import kiln.bundle
from kiln.bundle.reader import BATCH_ROWS

def rss_mb(key):
    status = open("/proc/self/status").read()
    return int(status.split(key + ":")[1].split()[0]) / 1024

bundle = kiln.bundle.load(sys.argv[1], threads=1)
images = np.load(sys.argv[2])  # (K, 8, 8)
rows, batch_rows = int(sys.argv[3]), sys.argv[4]
records = [{"image": images[i % len(images)].tolist()} for i in range(rows)]
batch = rows if batch_rows == "all" else (BATCH_ROWS if batch_rows == "default"
                                          else int(batch_rows))
before = rss_mb("VmRSS")
start = time.perf_counter()
answers = bundle.predict(records, batch_rows=batch)
seconds = time.perf_counter() - start
labels = "".join(a["label"]["label"] for a in answers)
print(json.dumps({"seconds": seconds, "rows_per_s": rows / seconds, "batch_rows": batch,
                  "rss_before_mb": before, "peak_mb": rss_mb("VmHWM"),
                  "answers": hashlib.sha256(labels.encode()).hexdigest()[:16]}))
"""


def prepare(folder: Path) -> tuple[Path, Path]:
    """A digits CNN bundle (untrained weights) and the 8×8 images as an .npy file."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "tests" / "bundle"))
    from bundle_helpers import EXAMPLES, digits_frame, make_bundle

    from kiln import load_blueprint

    frame = digits_frame(1797)
    parts = make_bundle(load_blueprint(EXAMPLES / "digits_cnn.yaml"), frame,
                        folder / "bundle", train_rows=1437)
    images = np.stack([np.asarray(v, dtype=np.float64) for v in frame["image"]])
    np.save(folder / "images.npy", images)
    return parts.path, folder / "images.npy"


def measure(bundle: Path, images: Path, rows: int, batch_rows: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(bundle), str(images), str(rows),
                           batch_rows], capture_output=True, text=True, check=True, cwd=ROOT)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-rows", default="default",
                        help="records per call for the chunked side (default: BATCH_ROWS)")
    parser.add_argument("--prepare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:  # a child builds the bundle, so that this process stays small
        bundle, images = prepare(Path(args.prepare))
        print(json.dumps({"bundle": str(bundle), "images": str(images)}))
        return
    with tempfile.TemporaryDirectory(prefix="kiln-bench-") as tmp:
        made = subprocess.run([sys.executable, __file__, "--prepare", tmp], capture_output=True,
                              text=True, check=True, cwd=ROOT)
        prepared = json.loads(made.stdout.strip().splitlines()[-1])
        bundle, images = Path(prepared["bundle"]), Path(prepared["images"])
        base = measure(bundle, images, args.rows, "all")
        ours = measure(bundle, images, args.rows, args.batch_rows)
    print(f"Bundle.predict on {args.rows:,} digit records (nested lists), 1 ORT thread")
    print(f"{'':<26}{'batch_rows':>11}{'seconds':>9}{'rows/s':>10}{'RSS before (MB)':>17}"
          f"{'peak RSS (MB)':>15}")
    for name, m in (("baseline: one call", base), ("chunked", ours)):
        print(f"{name:<26}{m['batch_rows']:>11,}{m['seconds']:>9.2f}{m['rows_per_s']:>10,.0f}"
              f"{m['rss_before_mb']:>17,.0f}{m['peak_mb']:>15,.0f}")
    print(f"ratio chunked/baseline: throughput {ours['rows_per_s'] / base['rows_per_s']:.2f}×, "
          f"peak memory {ours['peak_mb'] / base['peak_mb']:.2f}×, growth during predict "
          f"{(ours['peak_mb'] - ours['rss_before_mb']):,.0f} vs "
          f"{(base['peak_mb'] - base['rss_before_mb']):,.0f} MB")
    same = ours["answers"] == base["answers"]
    print(f"same answers: {same}")
    print(json.dumps({"baseline": base, "chunked": ours}))
    if not same:
        raise SystemExit("FAIL: chunked answers differ from the one-call answers")


if __name__ == "__main__":
    main()
