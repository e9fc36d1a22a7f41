"""Do the bundled examples earn their keep? Each example is trained by kiln and compared,
in the same run and on the same split, with the scikit-learn model it must match.

    python benchmarks/example_metrics.py [--json]

Targets (issue 3): the digits CNN reaches ≥ 0.985 test accuracy and is within 0.5 points
of an RBF SVC; the breast-cancer MLP is within 1 point of logistic regression (accuracy);
the diabetes model's R² is within 0.03 of ridge regression.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def flat(inputs: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """Model inputs (already preprocessed, fitted on train) as one 2-D matrix."""
    return np.concatenate([inputs[n].reshape(len(inputs[n]), -1) for n in names], axis=1)


def compare(example: str, make_baseline: Any, metric: str) -> dict[str, Any]:
    from sklearn import metrics as m

    from kiln.blueprint import load_blueprint
    from kiln.train import load_run, predict, train

    bp = load_blueprint(ROOT / "examples" / example)
    started = time.perf_counter()
    run = train(bp, quiet=True, tracking=False)
    kiln_seconds = time.perf_counter() - started
    data = load_run(run.dir).data()  # the same seeded split the run trained on
    names = data.signature.input_names
    target = data.signature.outputs[0].name
    x_fit = np.concatenate([flat(data.train.inputs, names), flat(data.val.inputs, names)])
    y_fit = np.concatenate([data.train.targets[target], data.val.targets[target]])
    x_test, y_test = flat(data.test.inputs, names), data.test.targets[target]
    started = time.perf_counter()
    baseline = make_baseline().fit(x_fit, y_fit.ravel())
    baseline_seconds = time.perf_counter() - started
    if metric == "accuracy":
        kiln_score = run.metrics["test"]["accuracy"]
        base_score = m.accuracy_score(y_test, baseline.predict(x_test))
    else:  # r2 on standardised targets equals r2 in target units (an affine map)
        model = run.load_model()
        raw = predict(model, data.test.inputs)[target].ravel()
        kiln_score = run.metrics["test"]["r2"]
        base_score = m.r2_score(y_test.ravel(), baseline.predict(x_test))
        assert abs(m.r2_score(y_test.ravel(), raw) - kiln_score) < 1e-4
    return {"example": example, "metric": metric, "kiln": round(kiln_score, 4),
            "baseline": type(baseline).__name__, "baseline_score": round(base_score, 4),
            "gap_points": round(100 * (kiln_score - base_score), 2),
            "kiln_train_s": round(kiln_seconds, 1), "baseline_fit_s": round(baseline_seconds, 2),
            "test_rows": len(y_test)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("KILN_HOME", str(ROOT / "kiln-runs" / "bench"))
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.svm import SVC

    rows = [
        compare("digits_cnn.yaml", lambda: SVC(kernel="rbf", C=10, gamma="scale"), "accuracy"),
        compare("breast_cancer_mlp.yaml", lambda: LogisticRegression(max_iter=5000),
                "accuracy"),
        compare("diabetes_regression.yaml", lambda: Ridge(alpha=1.0), "r2"),
    ]
    targets = {"digits_cnn.yaml": -0.5, "breast_cancer_mlp.yaml": -1.0,
               "diabetes_regression.yaml": -3.0}
    for row in rows:
        row["target_gap_points"] = targets[row["example"]]
        row["ok"] = row["gap_points"] >= targets[row["example"]] and (
            row["example"] != "digits_cnn.yaml" or row["kiln"] >= 0.985)
        print(f"{row['example']:26s} {row['metric']:8s} kiln {row['kiln']:.4f}  "
              f"{row['baseline']} {row['baseline_score']:.4f}  gap {row['gap_points']:+.2f} "
              f"points (target ≥ {row['target_gap_points']})  "
              f"{'ok' if row['ok'] else 'MISSED'}  [{row['test_rows']} test rows, "
              f"kiln {row['kiln_train_s']} s, baseline {row['baseline_fit_s']} s]")
    if args.json:
        print(json.dumps({"examples": rows}))


if __name__ == "__main__":
    main()
