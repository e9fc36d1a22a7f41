"""Cold start of the serving path: `kiln.bundle.load` + one prediction vs PyTorch.

Each side runs in a fresh Python process, several times; the median is reported.

    bundle   import kiln.bundle → load (verify manifest, ONNX Runtime session) → predict(1 record)
    pytorch  import torch + kiln → build the model → load weights.safetensors →
             preprocess the same record → forward under torch.inference_mode

Measured: wall time of the whole process (interpreter start to exit, from the parent), the
time inside the process up to the answer, and peak resident memory (ru_maxrss). The bundle
process must not import torch (checked, and the script fails if it does).

    .venv/bin/python benchmarks/bundle_load.py                # digits CNN, untrained weights
    .venv/bin/python benchmarks/bundle_load.py --run RUN_ID   # a trained run's fp32 bundle
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

BUNDLE_CHILD = """
import time; start = time.perf_counter()
import json, resource, sys
import kiln.bundle
bundle = kiln.bundle.load(sys.argv[1], threads=1)
answer = bundle.predict([json.loads(sys.argv[2])])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "label": answer[0]["label"]["label"],
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "hwm_mb": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
                  / 1024, "torch": "torch" in sys.modules, "pandas": "pandas" in sys.modules}))
"""

TORCH_CHILD = """
import time; start = time.perf_counter()
import json, resource, sys
from pathlib import Path
import numpy as np
import torch
from safetensors.torch import load_file
from kiln import build_model, load_blueprint
from kiln.data.preprocessing import Preprocessor
from kiln.model.signature import Signature
torch.set_num_threads(1)
folder = Path(sys.argv[1])
bp = load_blueprint(folder / "blueprint.yaml")
signature = Signature.from_dict(json.loads((folder / "signature.json").read_text()))
model = build_model(bp, signature)
model.load_state_dict(load_file(str(folder / "weights.safetensors")))
model.eval()
pre = Preprocessor.load(folder / "preprocessing.json")
record = json.loads(sys.argv[2])
inputs = pre.transform({k: [v] for k, v in record.items()})
with torch.inference_mode():
    raw = model(*[torch.from_numpy(inputs[s.name]) for s in signature.inputs])
probs = pre.decode({o.name: r.numpy() for o, r in zip(signature.outputs, raw)})["label"]
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "label": signature.outputs[0].labels[int(probs.argmax())],
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "hwm_mb": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
                  / 1024, "torch": True, "pandas": "pandas" in sys.modules}))
"""


def prepare(folder: Path, run_id: str | None) -> tuple[Path, Path, dict[str, Any]]:
    """A bundle, a folder with what PyTorch loads (blueprint, signature, preprocessing,
    weights), and one raw record from the test rows."""
    import numpy as np

    if run_id is not None:
        from kiln.export import export
        from kiln.train import load_run

        run = load_run(run_id)
        bundle = export(run, output=folder / "bundle")
        data = run.data()
        row = data.table.iloc[int(data.test.index[0])]
        return bundle, run.dir, {f.name: _plain(row[f.name]) for f in data.features}
    sys.path.insert(0, str(ROOT / "tests" / "bundle"))
    from bundle_helpers import EXAMPLES, digits_frame, make_bundle
    from safetensors.torch import save_file

    from kiln import load_blueprint
    from kiln.blueprint import dump_blueprint

    bp = load_blueprint(EXAMPLES / "digits_cnn.yaml")
    parts = make_bundle(bp, digits_frame(1797), folder / "bundle", train_rows=1437)
    torch_dir = folder / "torch"
    torch_dir.mkdir()
    (torch_dir / "blueprint.yaml").write_text(dump_blueprint(bp))
    (torch_dir / "signature.json").write_text(json.dumps(parts.signature.to_dict()))
    parts.preprocessor.save(torch_dir / "preprocessing.json")
    save_file({k: v.contiguous() for k, v in parts.model.state_dict().items()},
              str(torch_dir / "weights.safetensors"))
    record = parts.records[0]
    record["image"] = np.asarray(record["image"]).tolist()
    return parts.path, torch_dir, record


def _plain(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    return value.item() if isinstance(value, np.generic) else value


def measure(script: str, target: Path, record: dict[str, Any], repeats: int) -> dict[str, Any]:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", script, str(target), json.dumps(record)],
                              capture_output=True, text=True, check=True, cwd=ROOT)
        wall = time.perf_counter() - start
        runs.append({**json.loads(done.stdout.strip().splitlines()[-1]), "wall": wall})
    return {"wall_s": statistics.median(r["wall"] for r in runs),
            "to_answer_s": statistics.median(r["seconds"] for r in runs),
            "maxrss_mb": statistics.median(r["maxrss_mb"] for r in runs),
            "hwm_mb": statistics.median(r["hwm_mb"] for r in runs),
            "torch": any(r["torch"] for r in runs), "pandas": any(r["pandas"] for r in runs),
            "label": runs[0]["label"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a trained run id (default: an untrained digits CNN)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--prepare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:  # the child that builds the inputs, so that this process stays small
        bundle, torch_dir, record = prepare(Path(args.prepare), args.run)
        print(json.dumps({"bundle": str(bundle), "torch": str(torch_dir), "record": record}))
        return
    with tempfile.TemporaryDirectory(prefix="kiln-bench-") as tmp:
        # Linux keeps ru_maxrss across fork+exec: a child of a big parent would inherit the
        # parent's peak. So the parent imports nothing heavy; the children's own peak is
        # also read from /proc/self/status (VmHWM), which starts afresh at exec.
        command = [sys.executable, __file__, "--prepare", tmp]
        if args.run:
            command += ["--run", args.run]
        made = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
        prepared = json.loads(made.stdout.strip().splitlines()[-1])
        bundle, torch_dir = Path(prepared["bundle"]), Path(prepared["torch"])
        record = prepared["record"]
        measure(BUNDLE_CHILD, bundle, record, 1)  # warm the OS file cache for both sides
        measure(TORCH_CHILD, torch_dir, record, 1)
        ours = measure(BUNDLE_CHILD, bundle, record, args.repeats)
        base = measure(TORCH_CHILD, torch_dir, record, args.repeats)
    print(f"cold start, median of {args.repeats} fresh processes, 1 thread, 1 record")
    print(f"{'':<28}{'wall (s)':>10}{'to answer (s)':>15}{'peak RSS (MB)':>15}"
          f"{'ru_maxrss (MB)':>16}  torch imported")
    for name, m in (("kiln.bundle.load+predict", ours), ("pytorch build+load+predict", base)):
        print(f"{name:<28}{m['wall_s']:>10.3f}{m['to_answer_s']:>15.3f}{m['hwm_mb']:>15.1f}"
              f"{m['maxrss_mb']:>16.1f}  {m['torch']}")
    print(f"ratio pytorch/bundle: wall {base['wall_s'] / ours['wall_s']:.2f}×, to answer "
          f"{base['to_answer_s'] / ours['to_answer_s']:.2f}×, peak memory "
          f"{base['hwm_mb'] / ours['hwm_mb']:.2f}×")
    print(f"same answer: {ours['label'] == base['label']} ({ours['label']!r})")
    print(json.dumps({"bundle": ours, "pytorch": base}))
    if ours["torch"]:
        raise SystemExit("FAIL: the bundle process imported torch")


if __name__ == "__main__":
    main()
