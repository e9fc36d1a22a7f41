"""One conformance test over every registered compression method (`@method`): it writes
an ONNX model that ONNX Runtime loads, with the run's input and output names, that agrees
with the PyTorch model on the test split."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from test_distill import student_file

from kiln.compress.builders import BUILDERS, Context, raw_outputs
from kiln.compress.onnx_export import ort_session, run_onnx
from kiln.compress.settings import compress_settings
from kiln.runs import load_run

MIN_AGREEMENT = 0.8  # argmax agreement with PyTorch (a 3-epoch student learns less)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_every_method_builds_a_faithful_onnx_model(name: str, digits_run_dir: Path,
                                                   tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(digits_run_dir, run_dir, ignore=shutil.ignore_patterns("variants"))
    run = load_run(run_dir)
    spec = compress_settings(run.blueprint.compress, prune=0.5, finetune_epochs=1,
                             student=str(student_file(tmp_path)))
    assert BUILDERS[name][1](spec), f"{name}: not wanted even with every option set"
    ctx = Context(run, run.load_model(), run.data(), spec, tracking=False)
    # Methods run in registration order and may build on earlier ones (int8 quantizes fp32).
    for earlier, (builder, _) in BUILDERS.items():
        path = ctx.target(earlier)
        path.parent.mkdir(parents=True)
        details = builder(ctx, path)
        assert isinstance(details, dict) and path.is_file()
        if earlier == name:
            break

    session = ort_session(path, threads=1)
    assert [i.name for i in session.get_inputs()] == run.signature.input_names
    assert [o.name for o in session.get_outputs()] == run.signature.output_names
    test = ctx.data.test
    got = run_onnx(session, test.inputs)
    reference = raw_outputs(ctx, test.inputs)
    for head in run.signature.output_names:
        agree = np.mean(got[head].argmax(axis=1) == reference[head].argmax(axis=1))
        assert agree >= MIN_AGREEMENT, f"{name}: {head} agrees on {agree:.0%} of rows"
