"""The DDP launcher's pieces without launching ranks: torchrun flags, what is refused, how a
failed rank is told, and one rank's validation against one process's (a world of one)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from train_helpers import load_tiny

from kiln.errors import DataError, RunError, TrainingError
from kiln.train import train
from kiln.train.distributed import DistributedLoop, Rank, check_same_data, timeout_s
from kiln.train.launch import Nodes, rank_failure, recorded_nproc


def test_torchrun_flags_pass_through() -> None:
    assert Nodes().flags() == ["--standalone"]
    assert Nodes(nnodes="2", node_rank=1, rdzv_endpoint="head:29500", rdzv_id="job7").flags() \
        == ["--nnodes", "2", "--node-rank", "1", "--rdzv-endpoint", "head:29500",
            "--rdzv-id", "job7", "--rdzv-backend", "c10d"]
    assert Nodes(nnodes="1:4", rdzv_endpoint="h:1", rdzv_backend="static").flags()[-2:] == \
        ["--rdzv-backend", "static"]


def test_what_cannot_cross_into_the_ranks_is_refused(tmp_path: Path) -> None:
    bp = load_tiny(tmp_path)
    with pytest.raises(RunError, match="cv cannot be combined with nproc"):
        train(bp, nproc=2, cv=3)
    with pytest.raises(RunError, match="epoch_callback cannot be combined"):
        train(bp, nproc=2, epoch_callback=lambda epoch, val: None)
    with pytest.raises(RunError, match="--nproc 0"):
        train(bp, nproc=0)


def test_streamed_data_is_refused_before_any_rank_starts(tmp_path: Path) -> None:
    bp = load_tiny(tmp_path)
    bp.data.streaming = True
    with pytest.raises(RunError, match="streams its data") as caught:
        train(bp, nproc=2)
    assert caught.value.where == "data.streaming"


def test_cli_refuses_torchrun_flags_without_nproc(tmp_path: Path, kiln_cli) -> None:  # type: ignore[no-untyped-def]
    from train_helpers import tiny_blueprint

    code, out, _ = kiln_cli("train", str(tiny_blueprint(tmp_path)), "--nnodes", "2", "--json")
    assert code == RunError.exit_code
    assert json.loads(out.strip().splitlines()[-1])["where"] == "--nproc"
    code, out, _ = kiln_cli("train", str(tiny_blueprint(tmp_path)), "--nproc", "2", "--cv", "3",
                            "--json")
    assert code == RunError.exit_code and "--cv cannot" in out


def failure(tmp_path: Path, local_rank: int, exitcode: int) -> object:
    from torch.distributed.elastic.multiprocessing.errors import ProcessFailure

    return ProcessFailure(local_rank=local_rank, pid=1000 + local_rank, exitcode=exitcode,
                          error_file=str(tmp_path / "absent.json"))


def test_the_killed_rank_is_named_not_the_ranks_torchrun_stopped(tmp_path: Path) -> None:
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    (tmp_path / "run_id").write_text("digits-1")
    exc = ChildFailedError("kiln", {0: failure(tmp_path, 0, -15),  # type: ignore[dict-item]
                                    1: failure(tmp_path, 1, -9)})
    error = rank_failure(exc, tmp_path)
    assert isinstance(error, TrainingError) and error.where == "rank 1"
    assert "rank 1 (pid 1001) was killed by SIGKILL" in str(error)
    assert "kiln train --resume digits-1 --nproc N" in str(error)


def test_a_ranks_own_kiln_error_comes_back_as_itself(tmp_path: Path) -> None:
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    (tmp_path / "errors").mkdir()
    (tmp_path / "errors" / "rank-0.json").write_text(json.dumps(
        {"rank": 0, "class": "DataError", "message": "label: 3 rows are missing",
         "where": "label"}))
    exc = ChildFailedError("kiln", {0: failure(tmp_path, 0, 3)})  # type: ignore[dict-item]
    error = rank_failure(exc, tmp_path)
    assert type(error) is DataError and error.where == "label"
    assert str(error) == "rank 0: label: 3 rows are missing"


def test_timeout_and_rank_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KILN_DDP_TIMEOUT", "45")
    assert timeout_s() == 45
    monkeypatch.setenv("KILN_DDP_TIMEOUT", "soon")
    with pytest.raises(RunError, match="KILN_DDP_TIMEOUT='soon'"):
        timeout_s()
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(RunError, match="started by torchrun"):
        Rank.from_env()


def test_one_process_runs_resume_on_one_process(tmp_path: Path) -> None:
    run = train(load_tiny(tmp_path, epochs=1), quiet=True, tracking=False)
    assert recorded_nproc(run.id) is None


@pytest.fixture
def world_of_one(tmp_path: Path):  # type: ignore[no-untyped-def]
    import torch.distributed as dist

    store = dist.FileStore(str(tmp_path / "store"), 1)
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_gathered_validation_is_the_one_process_validation(tmp_path: Path,
                                                           world_of_one: None) -> None:
    from kiln.data import prepare_data
    from kiln.model import build_model
    from kiln.train.loop import Loop

    bp = load_tiny(tmp_path, epochs=1)
    data = prepare_data(bp)
    check_same_data(data.fingerprint, Rank(0, 1, 0), torch.device("cpu"))  # one rank agrees
    one = Loop(build_model(bp, data.signature, seed=1), data, bp)
    ranked = DistributedLoop(build_model(bp, data.signature, seed=1), data, bp,
                             rank=Rank(0, 1, 0))
    expected, got = one.validate(), ranked.validate()
    assert expected.keys() == got.keys()
    for key, value in expected.items():
        assert math.isclose(got[key], value, rel_tol=1e-6), key
    # One rank's batches are the one-process batches.
    one.generator.manual_seed(5)
    ranked.generator.manual_seed(5)
    assert all(torch.equal(a, b) for a, b in zip(one.batches(), ranked.batches(), strict=True))
