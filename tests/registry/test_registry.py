"""The registry on a real MLflow SQLite store in a temp $KILN_HOME."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from bundle_helpers import Parts

from kiln.errors import BundleError
from kiln.registry import (
    RegistryError,
    bundle_path,
    history,
    list_versions,
    promote,
    register,
    rollback,
)


def test_register_promote_rollback_list(small_bundle: Parts, kiln_home: Path) -> None:
    versions = [register(small_bundle.path, name="shop").version for _ in range(3)]
    assert versions == [1, 2, 3]
    assert (kiln_home / "mlflow.db").exists() and (kiln_home / "mlartifacts").is_dir()

    promote("shop", 1)
    promote("shop", 2, alias="challenger")
    promote("shop", 2)  # the challenger wins: it becomes champion, challenger is dropped
    listed = {v.version: v for v in list_versions("shop")}
    assert listed[2].aliases == ["champion"] and listed[1].aliases == []
    assert listed[3].source_run == "run-test" and listed[3].variant == "fp32"
    assert listed[3].metrics == {"test": {"accuracy": 0.5}}
    assert [v.version for v in list_versions("shop")] == [3, 2, 1]

    promote("shop", 3)
    assert rollback("shop")["version"] == 2
    assert rollback("shop")["version"] == 1
    with pytest.raises(RegistryError, match="version 1 is the first champion on record"):
        rollback("shop")
    assert {v.version: v.aliases for v in list_versions("shop")}[1] == ["champion"]
    moves = [(e["action"], e["alias"], e["version"], e["previous"]) for e in history("shop")]
    assert moves == [("promote", "champion", 1, None), ("promote", "challenger", 2, None),
                     ("promote", "champion", 2, 1), ("promote", "champion", 3, 2),
                     ("rollback", "champion", 2, 3), ("rollback", "champion", 1, 2)]


def test_pyfunc_loads_champion_and_predicts_dataframe(small_bundle: Parts) -> None:
    import mlflow
    import pandas as pd

    from kiln.bundle import load
    from kiln.tracking import tracking_uri

    register(small_bundle.path, name="shop")
    promote("shop", 1)
    mlflow.set_tracking_uri(tracking_uri())
    model = mlflow.pyfunc.load_model("models:/shop@champion")
    records = small_bundle.records[:6]
    frame = model.predict(pd.DataFrame(records))
    expected = load(small_bundle.path).predict(records)
    assert list(frame["kind"]) == [a["kind"]["label"] for a in expected]
    assert frame["price"].tolist() == pytest.approx([a["price"]["value"] for a in expected])
    assert {"kind_confidence", "kind_p_x", "kind_p_y", "kind_p_z"} <= set(frame.columns)


def test_bundle_path_downloads_a_verified_bundle(small_bundle: Parts, tmp_path: Path) -> None:
    from kiln.bundle import load, verify

    register(small_bundle.path, name="shop")
    promote("shop", 1, alias="challenger")
    local = bundle_path("shop", "challenger", dst=tmp_path / "dl")
    assert verify(local)["source_run"] == "run-test"
    zipped = shutil.make_archive(str(tmp_path / "shop"), "zip", small_bundle.path)
    assert register(zipped, name="shop").version == 2
    local_zip = bundle_path("shop", "2", dst=tmp_path / "dl2")
    assert local_zip.suffix == ".zip"
    records = small_bundle.records[:3]
    assert load(local_zip).predict(records) == load(small_bundle.path).predict(records)
    with pytest.raises(RegistryError, match="no version is 'champion'"):
        bundle_path("shop", "champion")


def test_tampered_bundle_is_not_registered(small_bundle: Parts, tmp_path: Path) -> None:
    copy = tmp_path / "b"
    shutil.copytree(small_bundle.path, copy)
    (copy / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.99}}))
    with pytest.raises(BundleError, match=r"not registered: .*metrics\.json was modified"):
        register(copy, name="shop")
    with pytest.raises(RegistryError, match="no registered model 'shop'"):
        list_versions("shop")


def test_bad_moves(small_bundle: Parts) -> None:
    register(small_bundle.path, name="shop")
    with pytest.raises(RegistryError, match=r"shop has no version 7 \(versions: 1\)"):
        promote("shop", 7)
    with pytest.raises(RegistryError, match="no version is champion"):
        rollback("shop")
    with pytest.raises(RegistryError, match="did you mean \"shop\""):
        promote("shopp", 1)
    promote("shop", 1)
    with pytest.raises(RegistryError, match="already is champion"):
        promote("shop", 1)
    with pytest.raises(RegistryError, match="no previous champion"):
        rollback("shop")


def test_cli_register_promote_list_rollback(small_bundle: Parts, tmp_path: Path,
                                            kiln_cli: Callable[..., tuple[int, str, str]]) -> None:
    def cli(*args: str) -> tuple[int, str, str]:
        code, out, err = kiln_cli(*args)
        return code, out, " ".join(err.split())  # Rich wraps long lines

    code, out, _ = cli("registry", "register", str(small_bundle.path), "--name", "shop",
                       "--json")
    assert code == 0 and json.loads(out.splitlines()[-1])["version"] == 1
    assert cli("registry", "register", str(small_bundle.path), "--name", "shop")[0] == 0
    assert cli("registry", "promote", "shop", "1")[0] == 0
    assert cli("registry", "promote", "shop", "2", "--alias", "champion")[0] == 0
    code, out, _ = cli("registry", "list", "shop", "--json")
    listing = json.loads(out.splitlines()[-1])
    assert [v["aliases"] for v in listing["versions"]] == [["champion"], []]
    assert len(listing["history"]) == 2
    code, out, _ = cli("registry", "rollback", "shop")
    assert code == 0 and "version 1" in out
    code, _, err = cli("registry", "promote", "shop", "5")
    assert code == 2 and "shop has no version 5" in err
    code, out, _ = cli("registry", "list", "shop")
    assert code == 0 and "champion" in out
    copy = tmp_path / "t"
    shutil.copytree(small_bundle.path, copy)
    (copy / "extra.bin").write_bytes(b"x")
    code, _, err = cli("registry", "register", str(copy), "--name", "shop")
    assert code == 2 and "unexpected file extra.bin" in err
