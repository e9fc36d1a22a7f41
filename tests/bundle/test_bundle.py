"""The bundle: layout, round trip against PyTorch, record checks, zip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from bundle_helpers import Parts, make_bundle, mixed_blueprint, mixed_frame, torch_predict

from kiln.bundle import REQUIRED_FILES, load, verify
from kiln.errors import BundleError


def columns_of(records: list[dict]) -> dict[str, list]:
    return {name: [r[name] for r in records] for name in records[0]}


def test_layout_and_manifest(digits_bundle: Parts) -> None:
    names = sorted(p.name for p in digits_bundle.path.iterdir())
    assert names == sorted([*REQUIRED_FILES, "manifest.json"])
    manifest = verify(digits_bundle.path)
    assert manifest["source_run"] == "run-test" and manifest["variant"] == "fp32"
    assert set(manifest["files"]) == set(REQUIRED_FILES)
    onnx = manifest["files"]["model.onnx"]
    assert onnx["bytes"] == (digits_bundle.path / "model.onnx").stat().st_size
    assert len(onnx["sha256"]) == 64


def test_digits_round_trip_matches_pytorch(digits_bundle: Parts) -> None:
    bundle = load(digits_bundle.path)
    answers = bundle.predict(digits_bundle.records)
    expected = torch_predict(digits_bundle, columns_of(digits_bundle.records))["label"]
    got = np.array([[a["label"]["probabilities"][lab] for lab in bundle.outputs[0]["labels"]]
                    for a in answers])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    labels = [a["label"]["label"] for a in answers]
    assert labels == [bundle.outputs[0]["labels"][i] for i in expected.argmax(axis=1)]
    assert all(a["label"]["confidence"] == max(a["label"]["probabilities"].values())
               for a in answers)


def test_mixed_round_trip_regression_and_classification(mixed_bundle: Parts) -> None:
    bundle = load(mixed_bundle.path)
    records = mixed_bundle.records[:20]
    answers = bundle.predict(records)
    expected = torch_predict(mixed_bundle, columns_of(records))
    np.testing.assert_allclose([a["price"]["value"] for a in answers],
                               expected["price"][:, 0], rtol=1e-5, atol=1e-4)
    assert {a["kind"]["label"] for a in answers} <= {"x", "y", "z"}
    arrays = bundle.predict_arrays(bundle.transform(records))
    np.testing.assert_allclose(arrays["kind"], expected["kind"], atol=1e-5)


def test_signature_has_ranges_and_categories(mixed_bundle: Parts) -> None:
    fields = {f["name"]: f for f in load(mixed_bundle.path).fields}
    assert fields["a"]["type"] == "numeric" and fields["a"]["min"] < fields["a"]["max"]
    assert set(fields["city"]["categories"]) == {"paris", "lyon", "nice"}
    assert fields["note"]["type"] == "text" and fields["a"]["input"] == "tabular"


def test_profile_has_inputs_outputs_confidence(digits_bundle: Parts,
                                               mixed_bundle: Parts) -> None:
    profile = json.loads((mixed_bundle.path / "profile.json").read_text())
    assert profile["split"] == "train" and profile["rows"] == 150
    a = profile["inputs"]["a"]
    assert a["count"] == 150 and len(a["histogram"]["counts"]) == 20
    assert sum(a["histogram"]["counts"]) == 150 and "0.5" in a["quantiles"]
    assert abs(sum(profile["inputs"]["city"]["frequencies"].values()) - 1) < 1e-9
    kind = profile["outputs"]["kind"]
    assert abs(sum(kind["class_frequencies"].values()) - 1) < 1e-9
    assert kind["confidence"]["histogram"]["edges"][0] == 0.0
    assert profile["outputs"]["price"]["values"][0]["count"] == 150
    image = json.loads((digits_bundle.path / "profile.json").read_text())["inputs"]["image"]
    assert image["type"] == "image" and image["pixel_mean"]["count"] == 180


@pytest.mark.parametrize(("record", "message"), [
    ({"b": 0.5, "city": "nice", "note": "red"}, "record 1: field 'a' is missing"),
    ({"a": "high", "b": 0.5, "city": "nice", "note": "red"},
     "record 1: field 'a' should be a number, got str 'high'"),
    ({"a": 1.0, "b": 0.5, "city": "nice", "note": 7}, "field 'note' should be a string"),
    ({"a": 1.0, "b": 0.5, "city": "nice", "note": "red", "zip": 1}, "unknown field 'zip'"),
])
def test_bad_records_name_field_and_index(mixed_bundle: Parts, record: dict,
                                          message: str) -> None:
    bundle = load(mixed_bundle.path)
    with pytest.raises(BundleError, match=message.replace("(", r"\(")):
        bundle.predict([mixed_bundle.records[0], record])


def test_null_is_imputed_and_empty_is_refused(mixed_bundle: Parts) -> None:
    bundle = load(mixed_bundle.path)
    record = {**mixed_bundle.records[0], "a": None}
    assert np.isfinite(bundle.predict([record])[0]["price"]["value"])
    with pytest.raises(BundleError, match="empty"):
        bundle.predict([])


def test_image_as_flat_list_and_wrong_size(digits_bundle: Parts) -> None:
    bundle = load(digits_bundle.path)
    image = np.asarray(digits_bundle.records[0]["image"])
    flat = bundle.predict([{"image": image.ravel().tolist()}])[0]
    nested = bundle.predict([{"image": image.tolist()}])[0]
    assert flat == nested
    with pytest.raises(BundleError, match="record 0: field 'image' has 10 pixel values"):
        bundle.predict([{"image": [1.0] * 10}])


def test_an_image_path_is_read_only_when_allowed(tmp_path: Path, digits_bundle: Parts) -> None:
    """A path would be read from the predicting machine's disk: refused unless the caller
    (never a network client) says so."""
    from PIL import Image

    bundle = load(digits_bundle.path)
    pixels = np.asarray(digits_bundle.records[0]["image"], dtype=np.float64).reshape(8, 8)
    picture = tmp_path / "digit.png"
    Image.fromarray((pixels / 16 * 255).astype(np.uint8)).save(picture)
    with pytest.raises(BundleError, match="record 0: field 'image' is a file path"):
        bundle.predict([{"image": str(picture)}])
    with pytest.raises(BundleError, match="file path"):
        bundle.flags([{"image": "/etc/passwd"}])
    assert bundle.predict([{"image": str(picture)}], allow_paths=True)[0]["label"]["label"]


def test_zip_bundle_loads_and_predicts_the_same(tmp_path: Path, digits_bundle: Parts) -> None:
    from bundle_helpers import EXAMPLES, digits_frame

    from kiln import load_blueprint

    parts = make_bundle(load_blueprint(EXAMPLES / "digits_cnn.yaml"), digits_frame(),
                        tmp_path / "digits", zip=True)
    assert parts.path.suffix == ".zip" and parts.path.is_file()
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no staging left
    zipped, folder = load(parts.path), load(digits_bundle.path)
    records = digits_bundle.records[:5]
    assert zipped.predict(records) == folder.predict(records)
    assert set(zipped.manifest["files"]) == set(folder.manifest["files"])


def test_existing_destination_is_refused(tmp_path: Path) -> None:
    make_bundle(mixed_blueprint(), mixed_frame(40), tmp_path / "m")
    with pytest.raises(BundleError, match="already exists"):
        make_bundle(mixed_blueprint(), mixed_frame(40), tmp_path / "m")


def test_info_reports_provenance_and_sizes(digits_bundle: Parts) -> None:
    info = load(digits_bundle.path).info()
    assert info["provenance"]["source_run"] == "run-test"
    assert info["total_bytes"] == sum(info["sizes"].values())
    assert info["outputs"][0]["labels"] == [str(i) for i in range(10)]


def test_flags_values_outside_training(mixed_bundle: Parts, digits_bundle: Parts) -> None:
    bundle = load(mixed_bundle.path)
    ordinary = mixed_bundle.records[0]
    odd = {**ordinary, "a": 1e6, "city": "rome", "b": None}
    flags = bundle.flags([ordinary, odd])
    assert flags[0] == []
    assert any(f.startswith("a: 1e+06 above the training maximum") for f in flags[1])
    assert "city: 'rome' was not seen in training" in flags[1] and len(flags[1]) == 3
    assert "b: missing, imputed" in flags[1]  # an imputed value is answered and flagged
    image = (np.asarray(digits_bundle.records[0]["image"]) * 0 - 5).tolist()
    assert load(digits_bundle.path).flags([{"image": image}])[0] == [
        "image: -5 below the training minimum 0"]
