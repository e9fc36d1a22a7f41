"""Knowledge distillation: the run's model teaches a smaller student blueprint.

The student is trained by `kiln.train.train` on the teacher's prepared data (same split,
same preprocessing), with loss α·T²·KL(teacher/T ‖ student/T) + (1−α)·task loss — the loop
in `kiln.train` implements it; this module checks the pairing and hands over the teacher.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kiln.errors import BlueprintError

if TYPE_CHECKING:
    from kiln.blueprint.compress_spec import DistillSpec
    from kiln.blueprint.schema import Blueprint
    from kiln.data.prepared import PreparedData
    from kiln.model.signature import Signature
    from kiln.runs import Run


def load_student(path: str | Path, teacher: Run) -> Blueprint:
    """The student blueprint (relative paths against the teacher's blueprint folder first,
    then the working directory), checked against the teacher's outputs."""
    from kiln.blueprint import load_blueprint

    candidate = Path(path)
    if not candidate.is_absolute() and not candidate.exists():
        beside = teacher.blueprint.resolve(str(path))
        candidate = beside if beside.exists() else candidate
    if not candidate.exists():
        raise BlueprintError(f"--distill {path}: no such student blueprint")
    student = load_blueprint(candidate)
    check_student(student, teacher.signature, str(candidate))
    check_same_data(student, teacher.blueprint, str(candidate))
    student.seed = teacher.blueprint.seed  # the seed picks the split: keep the teacher's
    return student


def check_same_data(student: Blueprint, teacher: Blueprint, where: str) -> None:
    """The student trains on the teacher's split: its `data` section must be the teacher's."""
    def normalised(bp: Blueprint) -> dict[str, object]:
        data = bp.data.model_dump()
        if ":" not in data["source"]:  # a file or folder: compare where it really is
            data["source"] = str(bp.resolve(data["source"]).resolve())
        return data

    mine, theirs = normalised(student), normalised(teacher)
    if mine != theirs:
        keys = sorted(k for k in mine if mine[k] != theirs.get(k))
        raise BlueprintError(
            f"{where}: data.{', data.'.join(keys)} differ from the teacher's — a student "
            f"learns from the teacher on the same data and split; copy the teacher's `data` "
            f"section into the student blueprint")


def check_student(student: Blueprint, teacher: Signature, where: str) -> None:
    """Raise `BlueprintError` unless the student predicts the teacher's targets: same names,
    same types, same number of classes / values (when the student declares them)."""
    theirs = {o.name: o for o in teacher.outputs}
    mine = {t.name: t for t in student.task.targets}
    if set(mine) != set(theirs):
        raise BlueprintError(
            f"{where}: task targets {sorted(mine)} do not match the teacher's outputs "
            f"{sorted(theirs)} — a student must predict the same targets as its teacher")
    for name, target in mine.items():
        want = theirs[name]
        if target.type != want.type:
            raise BlueprintError(
                f"{where}: target {name!r} is {target.type} but the teacher's is {want.type} "
                f"— the student's outputs must match the teacher's")
        if target.type == "classification":
            size = len(target.labels) if target.labels else target.num_classes
        else:
            size = len(target.source_columns)
        if size is not None and size != want.size:
            raise BlueprintError(
                f"{where}: target {name!r} has {size} outputs but the teacher's has "
                f"{want.size} — the student's outputs must match the teacher's "
                f"(fix num_classes / labels / columns)")


def train_student(student: Blueprint, teacher: Run, spec: DistillSpec, data: PreparedData, *,
                  tracking: bool = True) -> Run:
    """Train `student` against the teacher's model on the teacher's data; returns its run."""
    from kiln.train import Distillation, train

    model = teacher.load_model()
    distill = Distillation(model, alpha=spec.alpha, temperature=spec.temperature)
    return train(student, data=data, distill=distill, quiet=True, tracking=tracking,
                 run_name=f"{student.name}-distilled")
