"""Real tables as a newcomer brings them: `kiln init` then `kiln train`, no edits, against
the classical models a person would try first, on the same split, in the same run.

    python benchmarks/real_tables.py [--tables wine,survey,...] [--seeds 0,1,2,3] [--repeat]
                                     [--json]

Tables: every classification / regression table scikit-learn bundles (iris, wine,
breast_cancer, digits as a flat 64-column table, diabetes, linnerud), plus three the
benchmark generates with the troubles real data has: `churn` (missing values, a
high-cardinality categorical, an id column, skewed and heavy-tailed numerics, a short
free-text column, duplicated rows, classes 1:20), `survey` (small-integer answers where
many respondents answer alike: duplicate and conflicting rows) and `prices` (a regression
with skewed, heavy-tailed and missing numerics and a categorical interaction). Each table
is written as a CSV, as a download would be.

kiln runs as two CLI processes (`kiln init -d T.csv -t TARGET`, `kiln train --json`), MLflow
tracking included, this tree's `src` first on the path. The peers — logistic / ridge
regression, HistGradientBoosting and a random forest with scikit-learn's defaults — are
fitted on kiln's train + validation rows of the same split (kiln's fitted preprocessing:
imputed, standardised, categories as ids, one-hot for the linear model) and scored on its
test rows. A second linear peer, `linear_levels`, also one-hot encodes the integer columns
that kiln reads as ordered scales (answers 1–5, pixel levels), as a person who treats them
as categories would: the better of the two representations is the bar.

A table under 50 rows (linnerud: 20 rows, a 4-row test split on which every model's R² was
below zero) cannot rank models on one split: it is scored by 5-fold cross-validation
instead — the blueprint `kiln init` wrote, trained once per fold through `kiln.train.train`
(no MLflow run), the peers fitted on the same folds, R² of all rows' out-of-fold
predictions in target units. Every other table keeps the one-split protocol.

Target (issue 11): on every table kiln's test accuracy is within 1 point of the best peer
(R² within 0.02), ahead of the best peer on at least half of them; same seed → same
metrics (`--repeat` trains every table twice and compares).

One seed is one draw of the split, the initial weights and the batch order, and on a small
table one draw decides a lot (a 30-row test split moves 3.3 points per row). `--seeds`
runs every table once per seed (`kiln init --seed N`, still no edits; the peers are refitted
on each seed's split) and prints, per table, the mean gap and on how many seeds kiln was
within the target and ahead: the figure to trust when it disagrees with seed 0's.

Each one-split row also carries `gap_95`, a paired bootstrap interval of the gap over the
test rows (kiln and the best peer scored on the same resamples): a gap whose interval
straddles 0 is within what a test split of that size moves by itself. The best peer is the
best of four on those very rows, so a gap of zero already favours the peers a little.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"accuracy": 0.01, "r2": 0.02}  # the largest allowed gap behind the best peer
# A table this small has too few test rows to rank models on one split (linnerud: 20 rows,
# 4 test rows, where every model's R² was below zero): it is scored by cross-validation.
CV_BELOW_ROWS = 50
CV_FOLDS = 5


# --------------------------------------------------------------------------- tables


def sklearn_tables(folder: Path) -> dict[str, tuple[Path, list[str]]]:
    """The scikit-learn tables as CSV files: name → (path, target columns)."""
    from sklearn import datasets

    out = {}
    for name in ("iris", "wine", "breast_cancer", "digits", "diabetes", "linnerud"):
        bunch = getattr(datasets, f"load_{name}")(as_frame=True)
        frame = bunch.frame.copy()
        if name == "digits":  # pixel columns, a flat table
            frame.columns = [*[f"p{i}" for i in range(64)], "target"]
        targets = (list(bunch.target.columns) if name == "linnerud" else ["target"])
        if name in ("iris", "wine", "breast_cancer"):  # class names, as a download has them
            frame["target"] = np.asarray(bunch.target_names)[bunch.target]
        path = folder / f"{name}.csv"
        frame.to_csv(path, index=False)
        out[name] = (path, targets)
    return out


def churn(rng: np.random.Generator, rows: int = 4000) -> Any:
    """Customers leaving: classes 1:20, and every common trouble of a real export."""
    import pandas as pd

    income = rng.lognormal(10, 0.8, rows)  # skewed
    usage = rng.standard_t(2, rows) * 10 + 50  # heavy tails
    tenure = rng.integers(0, 120, rows).astype(float)
    city = rng.integers(0, 300, rows)  # 300 categories
    city_effect = rng.normal(0, 1, 300)[city]
    plan = rng.choice(["basic", "plus", "pro", "family"], rows)
    score = (-0.03 * tenure + 0.8 * city_effect + 0.02 * np.clip(usage, 0, 200)
             - 0.5 * (np.log(income) - 10) + (plan == "basic") * 1.0 + rng.normal(0, 1, rows))
    left = score > np.quantile(score, 1 - 1 / 21)  # 1:20
    notes = [f"customer on {p} plan since month {int(t)} called support {k} times"
             for p, t, k in zip(plan, tenure, rng.integers(0, 5, rows), strict=True)]
    frame = pd.DataFrame({"customer_id": [f"C{100000 + i}" for i in range(rows)],
                          "income": income.round(2), "usage": usage.round(3), "tenure": tenure,
                          "city": [f"city_{c:03d}" for c in city], "plan": plan,
                          "notes": notes, "churned": np.where(left, "yes", "no")})
    for column in ("income", "tenure"):
        frame.loc[rng.random(rows) < 0.1, column] = np.nan
    copies = frame.sample(frac=0.05, random_state=0)  # re-exported rows
    return pd.concat([frame, copies], ignore_index=True).sample(frac=1.0, random_state=1)


def survey(rng: np.random.Generator, rows: int = 3000) -> Any:
    """Answers on 1–5 scales: many respondents answer alike (duplicate, conflicting rows)."""
    import pandas as pd

    trait = rng.normal(0, 1, rows)
    answers = {f"q{i}": np.clip(np.round(3 + trait * rng.uniform(0.3, 1.2)
                                         + rng.normal(0, 0.7, rows)), 1, 5).astype(int)
               for i in range(8)}
    region = rng.integers(1, 5, rows)
    signal = trait + 0.3 * (region == 2) + rng.normal(0, 0.6, rows)
    outcome = np.digitize(signal, [-0.5, 0.5])
    return pd.DataFrame({**answers, "region": region,
                         "intent": np.array(["low", "mid", "high"])[outcome]})


def prices(rng: np.random.Generator, rows: int = 3000) -> Any:
    """A price: skewed and heavy-tailed inputs, missing values, a categorical interaction."""
    import pandas as pd

    area = rng.lognormal(4, 0.5, rows)
    age = rng.exponential(20, rows)
    rooms = rng.integers(1, 8, rows)
    district = rng.choice([f"d{i}" for i in range(12)], rows)
    lift = rng.normal(0, 0.4, 12)[np.array([int(d[1:]) for d in district])]
    # Heavy-tailed but bounded: one unbounded t(3) draw once made a 15-million price that
    # sent every model's R² below zero (an ill-posed table, not a hard one).
    noise = np.clip(rng.standard_t(3, rows), -5, 5) * 0.1
    price = np.exp(0.8 * np.log(area) + lift - 0.01 * age + 0.05 * rooms + noise) * 1000
    frame = pd.DataFrame({"area": area.round(1), "age": age.round(1), "rooms": rooms,
                          "district": district, "price": price.round(0)})
    frame.loc[rng.random(rows) < 0.08, "age"] = np.nan
    return frame


def generated_tables(folder: Path) -> dict[str, tuple[Path, list[str]]]:
    rng = np.random.default_rng(11)
    out = {}
    for name, make, target in (("churn", churn, "churned"), ("survey", survey, "intent"),
                               ("prices", prices, "price")):
        path = folder / f"{name}.csv"
        make(rng).to_csv(path, index=False)
        out[name] = (path, [target])
    return out


# --------------------------------------------------------------------------- kiln


def kiln(*args: str, cwd: Path) -> dict[str, Any]:
    """Run the kiln CLI; return the JSON object of its last line."""
    command = [sys.executable, "-c", "from kiln.cli import main; main()", *args, "--json"]
    # This tree's kiln, whatever the working folder (a relative PYTHONPATH would not resolve).
    path = os.pathsep.join([str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])
    done = subprocess.run(command, cwd=cwd, env={**os.environ, "PYTHONPATH": path},
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"kiln {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run_kiln(name: str, path: Path, targets: list[str], seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    blueprint = path.with_suffix(".yaml")
    flags = [arg for t in targets for arg in ("-t", t)]
    kiln("init", "-d", path.name, *flags, "-o", blueprint.name, "--force", "--seed", str(seed),
         cwd=path.parent)
    summary = kiln("train", blueprint.name, "-q", cwd=path.parent)
    summary["wall_s"] = time.perf_counter() - started
    return summary


# --------------------------------------------------------------------------- peers


def peer_inputs(data: Any, split: Any, one_hot: bool) -> np.ndarray:
    """kiln's preprocessed inputs of one split as one matrix (categories one-hot or ids;
    text as token counts)."""
    parts = []
    for spec in data.signature.inputs:
        x = split.inputs[spec.name]
        if spec.kind == "category" and one_hot:
            parts.append(np.eye(spec.vocab_size or int(x.max()) + 1, dtype=np.float32)[x])
        elif spec.kind == "tokens":
            size = spec.vocab_size or int(x.max()) + 1
            counts = np.zeros((len(x), size), dtype=np.float32)
            np.add.at(counts, (np.repeat(np.arange(len(x)), x.shape[1]), x.ravel()), 1.0)
            parts.append(counts[:, 1:])  # id 0 is padding
        else:
            parts.append(x.reshape(len(x), -1).astype(np.float32))
    return np.concatenate(parts, axis=1)


def peers(run_dir: str) -> tuple[str, dict[str, float], dict[str, float],
                              dict[str, Any] | None]:
    """(metric, score per peer, fit seconds per peer, the paired gap interval) on the run's
    own split; the interval is `gap_interval`'s, None for several targets."""
    from sklearn import metrics

    from kiln.train import load_run

    run = load_run(run_dir)
    data = run.data()
    outputs = data.signature.outputs
    regression = outputs[0].type == "regression"
    metric = "r2" if regression else "accuracy"
    models = peer_models(regression)
    scores, seconds, test_predictions = {}, {}, {}
    for name, model in models.items():
        one_hot = name.startswith("linear")
        x_fit = np.concatenate([peer_inputs(data, data.train, one_hot),
                                peer_inputs(data, data.val, one_hot)])
        x_test = peer_inputs(data, data.test, one_hot)
        if name == "linear_levels":
            x_fit, x_test = levels_one_hot(x_fit, x_test)
        per_target = []
        started = time.perf_counter()
        for out in outputs:  # one model per target (linnerud has three)
            y_fit = np.concatenate([data.train.targets[out.name], data.val.targets[out.name]])
            y_test = data.test.targets[out.name]
            fitted = model.fit(x_fit, y_fit.ravel())
            predicted = fitted.predict(x_test)
            test_predictions[name] = predicted  # read only for a single target
            per_target.append(metrics.r2_score(y_test.ravel(), predicted) if regression
                              else metrics.accuracy_score(y_test, predicted))
        seconds[name] = time.perf_counter() - started
        scores[name] = float(np.mean(per_target))
    interval = None
    if len(outputs) == 1:
        best = max(scores, key=scores.__getitem__)
        interval = gap_interval(run, data, metric, test_predictions[best])
    return metric, scores, seconds, interval


def gap_interval(run: Any, data: Any, metric: str, peer: np.ndarray) -> dict[str, Any]:
    """kiln's gap to the best peer on the same test rows, and its 95% interval over
    resamples of those rows (scipy's paired percentile bootstrap, 2,000 resamples): how far the
    gap is from what the test split's own sampling would move it. kiln's predictions are
    recomputed from the run's model (argmax of the logits, or the value in target units),
    and its recomputed score is returned beside the run's own for a check."""
    from scipy import stats
    from sklearn import metrics

    from kiln.train.inference import predict

    out = data.signature.outputs[0]
    y = data.test.targets[out.name].ravel()
    raw = predict(run.load_model(), data.test.inputs)[out.name]
    if metric == "r2":
        ours = raw.reshape(-1)
        score = metrics.r2_score
    else:
        ours = raw.argmax(axis=1)
        score = metrics.accuracy_score

    def gap(truth: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        return float(score(truth, a) - score(truth, b))

    result = stats.bootstrap((y, ours, peer.reshape(-1)), gap, paired=True,
                             vectorized=False, n_resamples=2000, method="percentile",
                             rng=np.random.default_rng(0))
    low, high = result.confidence_interval
    return {"kiln_recomputed": round(float(score(y, ours)), 4),
            "gap_95": [round(float(low), 4), round(float(high), 4)]}


def levels_one_hot(x_fit: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numeric columns that kiln's own rule would call categorical but for being an ordered
    scale (≤ 20 levels, fewer than 5% of the rows, more than two) one-hot encoded on the fit
    rows' levels: the linear model of a person who treats answers 1–5 as categories."""
    fit_parts, test_parts = [], []
    for j in range(x_fit.shape[1]):
        levels = np.unique(x_fit[:, j])
        if 2 < len(levels) <= 20 and len(levels) < 0.05 * len(x_fit):
            fit_parts.append((x_fit[:, j, None] == levels).astype(np.float32))
            test_parts.append((x_test[:, j, None] == levels).astype(np.float32))
        else:
            fit_parts.append(x_fit[:, j, None])
            test_parts.append(x_test[:, j, None])
    return np.concatenate(fit_parts, axis=1), np.concatenate(test_parts, axis=1)


def kiln_score(summary: dict[str, Any], metric: str) -> float:
    """The test metric; for several regression targets, the mean of their R²."""
    test = summary["test"]
    if metric in test:
        return float(test[metric])
    values = [v for k, v in test.items() if k.endswith(f".{metric}") or k.endswith(f"/{metric}")]
    return float(np.mean(values))


# --------------------------------------------------------------------------- tiny tables


def peer_models(regression: bool, levels: bool = True) -> dict[str, Any]:
    from sklearn import ensemble, linear_model

    def linear() -> Any:
        return (linear_model.Ridge() if regression
                else linear_model.LogisticRegression(max_iter=5000))

    return {"linear": linear(), **({"linear_levels": linear()} if levels else {}),
            "hist_gb": (ensemble.HistGradientBoostingRegressor(random_state=0) if regression
                        else ensemble.HistGradientBoostingClassifier(random_state=0)),
            "forest": (ensemble.RandomForestRegressor(random_state=0, n_jobs=1)
                       if regression else
                       ensemble.RandomForestClassifier(random_state=0, n_jobs=1))}


def cross_validated(name: str, path: Path, targets: list[str], folds: int,
                    seed: int) -> dict[str, Any]:
    """A regression table too small for a test split (linnerud: 4 test rows): `kiln init`
    as usual, then the written blueprint trained once per fold (`kiln.train.train`, fold k
    of `folds` as the test rows, validation carved from the rest), the peers fitted on the
    same folds; R² of the out-of-fold predictions of all rows, in target units."""
    import yaml
    from sklearn import metrics

    from kiln.blueprint.load import load_blueprint
    from kiln.data import prepare_data
    from kiln.train import train
    from kiln.train.inference import predict

    started = time.perf_counter()
    blueprint_path = path.with_suffix(".yaml")
    flags = [arg for t in targets for arg in ("-t", t)]
    kiln("init", "-d", path.name, *flags, "-o", blueprint_path.name, "--force", "--seed",
         str(seed), cwd=path.parent)
    blueprint = load_blueprint(yaml.safe_load(blueprint_path.read_text()))
    blueprint.set_source(blueprint_path)
    blueprint.data.split.folds = folds
    truth: list[np.ndarray] = []
    predicted: dict[str, list[np.ndarray]] = {
        "kiln": [], **{k: [] for k in peer_models(True, levels=False)}}
    for fold in range(folds):
        data = prepare_data(blueprint, fold=fold)
        encoders = data.preprocessor.encoders
        outputs = [o.name for o in data.signature.outputs]
        units = {o: encoders[o].decode for o in outputs}  # standardised → target units
        run = train(blueprint, data=data, quiet=True, tracking=False)
        raw = predict(run.load_model(), data.test.inputs)
        truth.append(np.column_stack([units[o](data.test.targets[o].reshape(-1, 1)).ravel()
                                      for o in outputs]))
        predicted["kiln"].append(np.column_stack([units[o](raw[o].reshape(-1, 1)).ravel()
                                                  for o in outputs]))
        x_fit = np.concatenate([peer_inputs(data, data.train, True),
                                peer_inputs(data, data.val, True)])
        x_test = peer_inputs(data, data.test, True)
        for peer, model in peer_models(True, levels=False).items():
            columns = []
            for o in outputs:
                y_fit = np.concatenate([data.train.targets[o], data.val.targets[o]]).ravel()
                columns.append(units[o](model.fit(x_fit, y_fit).predict(x_test)
                                        .reshape(-1, 1)).ravel())
            predicted[peer].append(np.column_stack(columns))
    y = np.concatenate(truth)
    scores = {k: float(np.mean([metrics.r2_score(y[:, j], np.concatenate(v)[:, j])
                                for j in range(y.shape[1])])) for k, v in predicted.items()}
    return {"metric": "r2", "scores": scores, "wall_s": time.perf_counter() - started,
            "protocol": f"{folds}-fold out-of-fold R² over {len(y)} rows"}


# --------------------------------------------------------------------------- main


def compare(name: str, path: Path, targets: list[str], repeat: bool,
            seed: int = 0) -> dict[str, Any]:
    if sum(1 for _ in path.open()) - 1 < CV_BELOW_ROWS:
        return compare_cv(name, path, targets, repeat, seed)
    summary = run_kiln(name, path, targets, seed)
    metric, scores, seconds, interval = peers(summary["run_dir"])
    ours = kiln_score(summary, metric)
    row = result_row(name, metric, ours, scores, summary["wall_s"])
    if interval is not None:
        row.update(interval)
    row.update({"peer_fit_s": {k: round(v, 2) for k, v in seconds.items()},
                "best_epoch": summary.get("best_epoch"), "epochs_run": summary.get("epochs_run"),
                "selected_by": summary.get("selected_by"), "protocol": "one split",
                "seed": seed})
    if repeat:
        again = run_kiln(name, path, targets, seed)
        row["same_seed_same_metrics"] = again["test"] == summary["test"]
    return row


def compare_cv(name: str, path: Path, targets: list[str], repeat: bool,
               seed: int) -> dict[str, Any]:
    first = cross_validated(name, path, targets, CV_FOLDS, seed)
    scores = {k: v for k, v in first["scores"].items() if k != "kiln"}
    row = result_row(name, "r2", first["scores"]["kiln"], scores, first["wall_s"])
    row.update({"peer_fit_s": {}, "best_epoch": None, "epochs_run": None,
                "selected_by": None, "protocol": first["protocol"], "seed": seed})
    if repeat:
        again = cross_validated(name, path, targets, CV_FOLDS, seed)
        row["same_seed_same_metrics"] = again["scores"] == first["scores"]
    return row


def result_row(name: str, metric: str, ours: float, scores: dict[str, float],
               wall_s: float) -> dict[str, Any]:
    best = max(scores, key=scores.__getitem__)
    row: dict[str, Any] = {
        "table": name, "metric": metric, "kiln": round(ours, 4), "best_peer": best,
        "best_peer_score": round(scores[best], 4), "gap": round(ours - scores[best], 4),
        "peers": {k: round(v, 4) for k, v in scores.items()}, "kiln_wall_s": round(wall_s, 1)}
    row["within_target"] = row["gap"] >= -TARGETS[metric]
    return row


def seed_summary(name: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One table over several seeds: the mean gap, and on how many seeds kiln was within the
    target and ahead of that seed's best peer."""
    gaps = [r["gap"] for r in rows]
    return {"table": name, "metric": rows[0]["metric"], "seeds": [r["seed"] for r in rows],
            "mean_gap": round(float(np.mean(gaps)), 4), "worst_gap": round(min(gaps), 4),
            "within_target": sum(r["within_target"] for r in rows),
            "ahead": sum(r["gap"] > 0 for r in rows),
            "mean_kiln": round(float(np.mean([r["kiln"] for r in rows])), 4),
            "mean_best_peer": round(float(np.mean([r["best_peer_score"] for r in rows])), 4)}


def print_row(name: str, row: dict[str, Any], seeded: bool) -> None:
    peer_s = sum(row["peer_fit_s"].values())
    label = f"{name} s{row['seed']}" if seeded else name
    print(f"{label:17s} {row['metric']:8s} kiln {row['kiln']:.4f}  best peer "
          f"{row['best_peer']} {row['best_peer_score']:.4f}  gap {row['gap']:+.4f}  "
          f"{'ok' if row['within_target'] else 'MISSED'}  "
          f"[kiln {row['kiln_wall_s']} s, peers {peer_s:.1f} s; "
          + (f"epoch {row['best_epoch']}/{row['epochs_run']} by {row['selected_by']}]"
             if row["protocol"] == "one split" else f"{row['protocol']}]")
          + ("" if "gap_95" not in row else
             f" gap 95% [{row['gap_95'][0]:+.4f}, {row['gap_95'][1]:+.4f}]")
          + ("" if "same_seed_same_metrics" not in row else
             f" same seed → same metrics: {row['same_seed_same_metrics']}"),
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", help="comma-separated names (default: all)")
    parser.add_argument("--seeds", default="0",
                        help="comma-separated blueprint seeds, one run per table each "
                             "(default: 0)")
    parser.add_argument("--repeat", action="store_true",
                        help="train every table twice and compare the metrics")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="kiln-real-tables-"))
    os.environ.setdefault("KILN_HOME", str(folder / "home"))
    tables = {**sklearn_tables(folder), **generated_tables(folder)}
    wanted = args.tables.split(",") if args.tables else list(tables)
    rows, summaries = [], []
    for name in wanted:
        path, targets = tables[name]
        mine = []
        for seed in seeds:
            row = compare(name, path, targets, args.repeat, seed)
            mine.append(row)
            print_row(name, row, len(seeds) > 1)
        rows += mine
        if len(seeds) > 1:
            summary = seed_summary(name, mine)
            summaries.append(summary)
            print(f"{name:17s} over {len(seeds)} seeds: mean gap {summary['mean_gap']:+.4f} "
                  f"(worst {summary['worst_gap']:+.4f}), within target on "
                  f"{summary['within_target']}/{len(seeds)}, ahead on {summary['ahead']}/"
                  f"{len(seeds)}", flush=True)
    first = [r for r in rows if r["seed"] == seeds[0]]
    ahead = sum(r["gap"] > 0 for r in first)
    within = sum(r["within_target"] for r in first)
    print(f"seed {seeds[0]}: within target on {within}/{len(first)} tables; ahead of the best "
          f"peer on {ahead}/{len(first)}")
    if summaries:
        print(f"over seeds {args.seeds}: mean gap within target on "
              f"{sum(s['mean_gap'] >= -TARGETS[s['metric']] for s in summaries)}/"
              f"{len(summaries)} tables; mean gap above 0 on "
              f"{sum(s['mean_gap'] > 0 for s in summaries)}/{len(summaries)}; within target "
              f"on {sum(r['within_target'] for r in rows)}/{len(rows)} runs, ahead on "
              f"{sum(r['gap'] > 0 for r in rows)}/{len(rows)}")
    paired = [r for r in rows if "gap_95" in r]
    if paired:
        print(f"paired 95% intervals of the gap ({len(paired)} one-split runs): whole interval "
              f"below 0 (behind by more than the test rows' sampling explains) on "
              f"{sum(r['gap_95'][1] < 0 for r in paired)}, above 0 on "
              f"{sum(r['gap_95'][0] > 0 for r in paired)}, below the target's "
              f"−1 point / −0.02 on {sum(r['gap_95'][1] < -TARGETS[r['metric']] for r in paired)}")
    if args.json:
        print(json.dumps({"tables": rows, **({"over_seeds": summaries} if summaries else {})}))


if __name__ == "__main__":
    main()
