"""Every compression variant against eager PyTorch, measured in the same run.

Trains the digits CNN (examples/digits_cnn.yaml) and the breast-cancer MLP
(examples/breast_cancer_mlp.yaml) with `kiln.train.train`, then runs `kiln.compress.compress`
on each (fp32 ONNX, dynamic int8, static int8, pruned 50%, and for the CNN a student distilled
into examples/digits_student.yaml). For each variant it prints the accuracy change, the size
ratio against the fp32 ONNX file, and the latency (p50, batch 1) and throughput (batch 64)
ratios against eager PyTorch under `torch.inference_mode` — ONNX Runtime and PyTorch at the
same intra-op thread count. The selection uses the blueprint's budgets plus
max_accuracy_drop = 0.005 (half a point) on accuracy as the objective.

    python benchmarks/compress_variants.py [--threads 1] [--epochs N] [--timing 3] [--json]
                                           [--only digits_cnn] [--executorch]

`--executorch` adds the ExecuTorch .pte edge variant (XNNPACK; needs kiln[edge]), measured
through ExecuTorch's runtime beside the ONNX variants (never selected).

Targets: the selected variant ≥ 3× faster than eager at batch 1 (p50) and ≥ 2× at batch 64,
with ≤ 0.5 point accuracy drop; int8 variants ≥ 3.5× smaller than fp32 ONNX; fp32 ONNX
agreement 100%.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
MAX_DROP = 0.005

MODELS = {
    "digits_cnn": {"blueprint": "digits_cnn.yaml", "student": "digits_student.yaml"},
    "breast_cancer_mlp": {"blueprint": "breast_cancer_mlp.yaml", "student": None},
}


def bench_model(name: str, args: argparse.Namespace) -> dict[str, Any]:
    from kiln import load_blueprint
    from kiln.compress import compress
    from kiln.errors import BudgetError
    from kiln.train import train

    spec = MODELS[name]
    bp = load_blueprint(EXAMPLES / spec["blueprint"])
    if args.epochs:
        bp.training.epochs = args.epochs
    bp.training.threads = args.threads
    run = train(bp, quiet=True, tracking=False)
    # The targets speak of accuracy points: select on accuracy (the MLP's own objective is
    # roc_auc, which hides a flipped prediction or two).
    run.blueprint.task.objective = "accuracy"
    run.blueprint.budgets.max_accuracy_drop = MAX_DROP
    student = EXAMPLES / spec["student"] if spec["student"] else None
    try:
        result = compress(run, prune=0.5, distill=student, threads=args.threads,
                          tracking=False, timing_budget_s=args.timing,
                          executorch=args.executorch or None)
        table = result.to_dict()
    except BudgetError as exc:
        from kiln.compress import load_variants

        table = load_variants(run).to_dict()
        table["budget_error"] = str(exc)
    return summarise(name, table)


def summarise(name: str, table: dict[str, Any]) -> dict[str, Any]:
    ref = table["reference"]
    fp32 = next(v for v in table["variants"] if v["name"] == "fp32")
    ref_acc = ref["metrics"].get("accuracy", ref["metric"])
    rows = []
    for v in table["variants"]:
        acc = v["details"]["metrics"].get("accuracy", v["metric"])
        rows.append({
            "variant": v["name"],
            "accuracy": acc,
            "accuracy_delta_points": 100 * (acc - ref_acc),
            "objective_delta": v["delta"],
            "agreement": v["agreement"],
            "size_bytes": v["size_bytes"],
            "smaller_than_fp32": fp32["size_bytes"] / v["size_bytes"],
            "p50_ms": v["latency_ms"]["p50"],
            "speedup_batch1": ref["latency_ms"]["p50"] / v["latency_ms"]["p50"],
            "speedup_batch64": v["throughput_per_s"] / ref["throughput_per_s"],
            "selectable": v["selectable"],
            "note": v["note"],
        })
    return {"model": name, "objective": table["objective"], "threads": ref["threads"],
            "eager": {"p50_ms": ref["latency_ms"]["p50"],
                      "throughput_per_s": ref["throughput_per_s"], "accuracy": ref_acc},
            "variants": rows, "selected": table["selected"], "reason": table["reason"],
            "budget_error": table.get("budget_error"), "targets": targets(table, rows)}


def targets(table: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, bool]:
    by_name = {r["variant"]: r for r in rows}
    chosen = by_name.get(table["selected"] or "")
    return {
        "selected_3x_batch1": bool(chosen and chosen["speedup_batch1"] >= 3),
        "selected_2x_batch64": bool(chosen and chosen["speedup_batch64"] >= 2),
        "selected_drop_le_0.5pt": bool(chosen
                                       and chosen["accuracy_delta_points"] >= -100 * MAX_DROP),
        "int8_3.5x_smaller": all(by_name[n]["smaller_than_fp32"] >= 3.5
                                 for n in ("int8", "int8-dynamic") if n in by_name),
        "fp32_agreement_100": by_name["fp32"]["agreement"] == 1.0,
    }


def print_report(report: dict[str, Any]) -> None:
    eager = report["eager"]
    print(f"\n{report['model']} — eager PyTorch: p50 {eager['p50_ms']:.4f} ms at batch 1, "
          f"{eager['throughput_per_s']:,.0f} rows/s at batch 64, accuracy "
          f"{eager['accuracy']:.4f} ({report['threads']} thread(s))")
    print(f"{'variant':<13}{'acc Δ pt':>9}{'agree':>8}{'size':>9}{'×smaller':>9}"
          f"{'p50 ms':>9}{'×eager@1':>9}{'×eager@64':>10}  selectable")
    for r in report["variants"]:
        mark = "SELECTED" if r["variant"] == report["selected"] else (
            "yes" if r["selectable"] else f"no: {r['note']}")
        print(f"{r['variant']:<13}{r['accuracy_delta_points']:>+9.2f}{r['agreement']:>8.1%}"
              f"{r['size_bytes'] / 1e3:>8.1f}k{r['smaller_than_fp32']:>9.2f}"
              f"{r['p50_ms']:>9.4f}{r['speedup_batch1']:>9.2f}{r['speedup_batch64']:>10.2f}"
              f"  {mark}")
    if report["budget_error"]:
        print(f"no variant selected: {report['budget_error']}")
    else:
        print(f"selected {report['selected']}: {report['reason']}")
    print("targets: " + ", ".join(f"{k} {'PASS' if ok else 'FAIL'}"
                                  for k, ok in report["targets"].items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=None,
                        help="override the blueprints' epochs (default: theirs)")
    parser.add_argument("--timing", type=float, default=3.0,
                        help="seconds spent on each timing measurement")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", choices=list(MODELS), default=None, help="one model only")
    parser.add_argument("--executorch", action="store_true",
                        help="add the ExecuTorch .pte edge variant")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    os.environ["KILN_HOME"] = tempfile.mkdtemp(prefix="kiln-bench-compress-")
    reports = [bench_model(name, args) for name in MODELS if args.only in (None, name)]
    for report in reports:
        print_report(report)
    if args.json:
        print(json.dumps({"threads": args.threads, "models": reports}, default=str))
    return 0 if all(all(r["targets"].values()) for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
