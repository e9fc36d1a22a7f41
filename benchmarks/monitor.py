"""`kiln monitor` over a large prediction log vs a plain pandas + SciPy script.

Both sides read the same SQLite prediction log (written here through kiln.prediction_log,
as `kiln serve` writes it: the shop classifier of tests/monitor answering N synthetic rows,
a tenth of them labelled) and compute the same figures on the same rows: per feature KS or
normalised Wasserstein (by the same size rule), PSI on reference deciles, chi-square or
Jensen–Shannon and the unseen share for the category, text length and OOV share, prediction
and confidence drift, the domain classifier (the baseline with scikit-learn's logistic
regression), realised accuracy and latency percentiles. Each side runs in a fresh process;
the figures are its wall time from the start of the work (after imports) and its peak RSS.

    .venv/bin/python benchmarks/monitor.py                 # 1,000,000 rows
    .venv/bin/python benchmarks/monitor.py --rows 100000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "monitor"))

KILN = """
import json, resource, sys, time
t0 = time.perf_counter()
import kiln.monitor
t1 = time.perf_counter()
report = kiln.monitor.check(sys.argv[1], sys.argv[2])
t2 = time.perf_counter()
print(json.dumps({"seconds": t2 - t1, "import_seconds": t1 - t0, "rows": report.rows,
                  "drifted": sorted({r.feature for r in report.drift if r.drifted}),
                  "accuracy": report.accuracy,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# The plain script a data scientist would write: pandas to read, json to parse, SciPy.
BASELINE = r'''
import json, re, resource, sqlite3, sys, time
t0 = time.perf_counter()
import numpy as np, pandas as pd
from scipy import stats
from scipy.spatial import distance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
t1 = time.perf_counter()
bundle, log = sys.argv[1], sys.argv[2]
profile = json.load(open(f"{bundle}/profile.json"))
pre = json.load(open(f"{bundle}/preprocessing.json"))
vocab = set(next(f["state"]["vocab"] for f in pre["features"] if f["spec"]["name"] == "note"))
conn = sqlite3.connect(log)
df = pd.read_sql_query(
    "SELECT p.request_id, p.record, p.ts, p.inputs, p.prediction, p.confidence, p.ood, "
    "p.latency_ms, f.label FROM predictions p LEFT JOIN feedback f "
    "ON f.request_id = p.request_id AND f.record = p.record WHERE p.shadow = 0", conn)
inputs = pd.DataFrame.from_records([json.loads(s) for s in df["inputs"]])
sample = profile["sample"]
token = re.compile(r"\w+")
def text_stats(texts):
    toks = [token.findall(str(t).lower()) for t in texts]
    return (np.array([len(t) for t in toks], float),
            np.array([sum(w not in vocab for w in t) / len(t) if t else np.nan for t in toks]))
def numeric(ref, cur):
    ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
    n_eff = len(ref) * len(cur) / (len(ref) + len(cur))
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, 11)))
    r = np.bincount(np.searchsorted(edges[1:-1], ref, side="right"), minlength=len(edges) - 1)
    c = np.bincount(np.searchsorted(edges[1:-1], cur, side="right"), minlength=len(edges) - 1)
    p, q = (r + .5) / (r.sum() + .5 * r.size), (c + .5) / (c.sum() + .5 * c.size)
    out = {"psi": float(np.sum((q - p) * np.log(q / p)))}
    if n_eff > 1000:
        out["wasserstein"] = stats.wasserstein_distance(ref, cur) / (ref.std() or 1.0)
    else:
        out["ks"] = stats.ks_2samp(ref, cur).pvalue
    return out
def categorical(ref, cur, known):
    cur = np.where(np.isin(cur, list(known)), cur, "__unseen__")
    names = sorted(set(ref) | set(cur))
    r = pd.Series(ref).value_counts().reindex(names, fill_value=0).to_numpy()
    c = pd.Series(cur).value_counts().reindex(names, fill_value=0).to_numpy()
    n_eff = r.sum() * c.sum() / (r.sum() + c.sum())
    out = {"unseen": float((cur == "__unseen__").mean())}
    if n_eff > 1000:
        out["js"] = distance.jensenshannon(r, c, base=2)
    else:
        out["chi2"] = stats.chi2_contingency(np.vstack([r, c]))[1]
    return out
results = {}
for name in ("x1", "x2"):
    results[name] = numeric(np.array(sample["fields"][name], float), inputs[name].to_numpy(float))
results["city"] = categorical(np.array(sample["fields"]["city"]), inputs["city"].to_numpy(str),
                              set(sample["fields"]["city"]))
ref_len, ref_oov = text_stats(sample["fields"]["note"])
cur_len, cur_oov = text_stats(inputs["note"])
results["note.length"] = numeric(ref_len, cur_len)
results["note.oov_share"] = numeric(ref_oov, cur_oov)
out = sample["outputs"]["kind"]
results["prediction"] = categorical(np.array(out["prediction"]), df["prediction"].to_numpy(str),
                                    set(out["prediction"]))
results["confidence"] = numeric(np.array(out["confidence"]), df["confidence"].to_numpy(float))
rng = np.random.default_rng(0)
def matrix(frame, length, oov):
    cols = [frame["x1"].to_numpy(float), frame["x2"].to_numpy(float), length, oov]
    cols += [(frame["city"].to_numpy(str) == c).astype(float) for c in ("paris", "lyon", "nice")]
    return np.column_stack(cols)
ref_m = matrix(pd.DataFrame(sample["fields"]), ref_len, ref_oov)
cur_m = matrix(inputs, cur_len, cur_oov)
n = min(len(ref_m), len(cur_m), 2000)
x = np.vstack([ref_m[rng.choice(len(ref_m), n, replace=False)],
               cur_m[rng.choice(len(cur_m), n, replace=False)]])
x = np.nan_to_num((x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1))
rows, cols = np.triu_indices(x.shape[1])
x = np.hstack([x, x[:, rows] * x[:, cols]])
y = np.r_[np.zeros(n), np.ones(n)]
order = rng.permutation(2 * n)
model = LogisticRegression(max_iter=300).fit(x[order[:n]], y[order[:n]])
s = model.decision_function(x[order[n:]])
results["domain_auc"] = roc_auc_score(y[order[n:]], s)
results["domain_p"] = stats.mannwhitneyu(s[y[order[n:]] == 1], s[y[order[n:]] == 0],
                                         alternative="greater").pvalue
labelled = df["label"].notna()
accuracy = float((df.loc[labelled, "prediction"] == df.loc[labelled, "label"]).mean())
p50, p99 = np.percentile(df["latency_ms"], [50, 99])
ood = float((df["ood"] != "[]").mean())
t2 = time.perf_counter()
print(json.dumps({"seconds": t2 - t1, "import_seconds": t1 - t0, "rows": len(df),
                  "accuracy": accuracy,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''


def write_log(bundle: Any, path: Path, rows: int, chunk: int = 100_000) -> None:
    """`rows` answered records (the last fifth with x1 shifted by 0.3 sd), 1 in 10 labelled."""
    from monitor_helpers import population

    from kiln import prediction_log

    conn = prediction_log.connect(path)
    names = [f["name"] for f in bundle.fields]
    labels = bundle.outputs[0]["labels"]
    done = 0
    while done < rows:
        n = min(chunk, rows - done)
        frame = population(n, 10_000 + done, shift=0.3 if done >= rows * 0.8 else 0.0)
        columns = {k: frame[k].tolist() for k in names}
        probabilities = bundle.predict_columns(columns)["kind"]
        best = probabilities.argmax(axis=1)
        records = frame[names].to_dict("records")
        batch = [prediction_log.row(
            request_id=f"q{done + i}", record=0, model="shop", version="1", inputs=rec,
            outputs={"kind": {"label": labels[b], "confidence": float(p[b])}},
            prediction=labels[b], confidence=float(p[b]), ood=[],
            latency_ms=1.0 + (i % 13) * 0.3, ts=1_700_000_000.0 + (done + i) * 0.01)
            for i, (rec, b, p) in enumerate(zip(records, best, probabilities, strict=True))]
        prediction_log.append(conn, batch)
        truth = frame["kind"].tolist()
        with conn:
            conn.executemany("INSERT INTO feedback (request_id, record, label, ts) "
                             "VALUES (?, 0, ?, ?)",
                             [(f"q{done + i}", truth[i], 1_700_000_000.0)
                              for i in range(0, n, 10)])
        done += n
    conn.close()


def run(code: str, *args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin",
                              "OMP_NUM_THREADS": "2"}, check=False)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, help="keep the bundle and log here (reused)")
    args = parser.parse_args()
    from monitor_helpers import make_shop_bundle

    from kiln.bundle import load

    folder = args.dir or Path(tempfile.mkdtemp(prefix="kiln-monitor-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    bundle_path, log = folder / "shop", folder / f"predictions-{args.rows}.db"
    if not bundle_path.exists():
        make_shop_bundle(bundle_path)
    if not log.exists():
        started = time.perf_counter()
        write_log(load(bundle_path), log, args.rows)
        print(f"wrote {args.rows:,} logged predictions in {time.perf_counter() - started:.1f} s"
              f" ({log.stat().st_size / 2**20:.0f} MiB)")
    kiln = run(KILN, str(bundle_path), str(log))
    base = run(BASELINE, str(bundle_path), str(log))
    assert kiln["rows"] == base["rows"] == args.rows
    assert abs(kiln["accuracy"] - base["accuracy"]) < 1e-12, (kiln, base)
    print(f"{'':10} {'wall s':>8} {'peak RSS MiB':>13}")
    for name, r in (("kiln", kiln), ("baseline", base)):
        print(f"{name:10} {r['seconds']:8.2f} {r['rss_mib']:13.0f}")
    print(f"ratio baseline/kiln: time {base['seconds'] / kiln['seconds']:.2f}x, "
          f"memory {base['rss_mib'] / kiln['rss_mib']:.2f}x; kiln drifted: {kiln['drifted']}")


if __name__ == "__main__":
    main()
