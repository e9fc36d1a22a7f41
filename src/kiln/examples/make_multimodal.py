"""Write examples/multimodal.npz: an 8×8 image and three measurements per row, and a label
that needs both (the digit's parity from the image, the sign of `dose` from the table).

    python examples/make_multimodal.py            # → examples/multimodal.npz (600 rows)

Arrays: image (N, 1, 8, 8) uint8 0..16, dose / weight / age (N,) float32, label (N,) str.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np


def make(rows: int = 600, seed: int = 0) -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    digits = load_digits()
    pick = rng.choice(len(digits.target), size=rows, replace=False)
    images = digits.images[pick].astype(np.uint8)[:, None]  # (N, 1, 8, 8)
    odd = digits.target[pick] % 2 == 1
    dose = rng.normal(0, 1, rows).astype(np.float32)
    weight = rng.normal(70, 12, rows).astype(np.float32)  # noise: not related to the label
    age = rng.integers(18, 90, rows).astype(np.float32)  # noise as well
    names = np.array(["even_low", "even_high", "odd_low", "odd_high"])
    label = names[odd.astype(int) * 2 + (dose > 0).astype(int)]
    return {"image": images, "dose": dose, "weight": weight, "age": age, "label": label}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path,
                        default=Path(__file__).with_name("multimodal.npz"))
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    arrays: dict[str, Any] = make(args.rows, args.seed)
    np.savez_compressed(args.output, **arrays)
    print(f"wrote {args.output} ({args.rows} rows)")


if __name__ == "__main__":
    main()
