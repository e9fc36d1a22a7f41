"""Guessing what each column of a table is: feature types, the task, columns to leave out.

Shared by `kiln init` (which writes the guesses into a starter blueprint, one comment per
column) and the data stage (when a blueprint declares no features). The rules are simple
and stated in each column's `reason`, so a person can check and correct them:

- two distinct values (or a bool column) → binary
- pandas `category` dtype, strings with few distinct values, or integers with few distinct
  values (≤ 20 and < 5% of rows) → categorical, unless they are an ordered scale (≥ 5
  levels filling at least half of their range: answers 1–5, pixel levels) → numeric
- strings that are file paths ending in .png/.jpg/.jpeg that exist, or array cells of
  shape (C, H, W), (H, W, C) or (H, W) → image
- strings that are long, contain spaces and are mostly distinct → text
- other numbers → numeric
- one distinct value, all missing, or an id (unique per row: strings without spaces, a
  run of consecutive integers, or an `id`-named column) → skipped
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.blueprint.schema import FeatureSpec, FeatureType, TaskType
from kiln.errors import DataError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

MIN_ROWS_PER_CLASS = 5  # integer targets with fewer rows per value are amounts
MAX_CATEGORIES = 20  # integers with at most this many distinct values may be categories
CATEGORY_ROW_FRACTION = 0.05  # ... and fewer distinct values than this fraction of rows
# ... unless they read as an ordered scale: at least this many distinct integers filling at
# least half of the run from the smallest to the largest (answers 1–5, pixel levels 0–16,
# counts). As numbers, one weight covers the whole scale; as categories, each level is
# learned apart, which loses on surveys and flat pixel tables (BENCHMARKS.md, real tables).
MIN_SCALE_LEVELS = 5
MAX_STRING_CATEGORIES = 200  # strings with more distinct values than this are not categories
TEXT_MIN_LENGTH = 30  # mean characters above which a string column reads as free text
MAX_VOCAB = 5000  # the text vocabulary is capped here (the blueprint's default)
MAX_TEXT_LENGTH = 256  # tokens per text, at most
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_IMAGE_SIDE = 64  # larger images are resized to this for the starter blueprint
ID_NAME = re.compile(r"(^|[_\W])(id|uuid|guid|index|key)$|[a-z]Id$|^ID$", re.IGNORECASE)


@dataclass
class ColumnInference:
    """What inference decided about one column, and why (one line, for a YAML comment)."""

    column: str
    role: str  # "feature", "target", "ignored" or "skipped"
    reason: str
    feature: FeatureSpec | None = None

    @property
    def type(self) -> FeatureType | None:
        return self.feature.type if self.feature is not None else None


def infer_report(df: pd.DataFrame, targets: Sequence[str], *, base_dir: Path | None = None,
                 ignore: Iterable[str] = ()) -> list[ColumnInference]:
    """One `ColumnInference` per column of `df`, in column order.

    Raises `DataError` when a target or an ignored column is not in the table.
    """
    columns = [str(c) for c in df.columns]
    ignored = set(ignore)
    for kind, names in (("target", list(targets)), ("ignored column", sorted(ignored))):
        for name in names:
            if name not in columns:
                raise DataError(f"{kind} {name!r} is not a column of the data"
                                f"{did_you_mean(name, columns)} (columns: {', '.join(columns)})")
    out = []
    for column in df.columns:
        name = str(column)
        if name in targets:
            task = infer_task(df, name)
            out.append(ColumnInference(name, "target", f"target → {task}"))
        elif name in ignored:
            out.append(ColumnInference(name, "ignored", "listed under data.ignore"))
        else:
            out.append(infer_column(df[column], name, base_dir or Path.cwd()))
    return out


def infer_features(df: pd.DataFrame, targets: Sequence[str], *, base_dir: Path | None = None,
                   ignore: Iterable[str] = ()) -> list[FeatureSpec]:
    """The feature specs inferred for every column that is neither a target nor skipped."""
    report = infer_report(df, targets, base_dir=base_dir, ignore=ignore)
    features = [c.feature for c in report if c.feature is not None]
    if not features:
        raise DataError("no usable feature columns: every column is a target, ignored, "
                        "constant, empty or an id — check the table, or declare "
                        "data.features in the blueprint")
    return features


def infer_task(df: pd.DataFrame, target: str) -> TaskType:
    """"regression" for a numeric target with fractional or many (> 20) values, or integers
    with fewer than 5 rows per distinct value on average; else "classification". Raises
    `DataError` when the column is missing or empty."""
    import pandas as pd

    if target not in df.columns:
        columns = [str(c) for c in df.columns]
        raise DataError(f"target {target!r} is not a column of the data"
                        f"{did_you_mean(target, columns)} (columns: {', '.join(columns)})")
    values = df[target].dropna()
    if values.empty:
        raise DataError(f"target {target!r}: every value is missing")
    if values.nunique() == 1:
        raise DataError(f"target {target!r} has one class ({_plain(values.iloc[0])!r}) — a "
                        f"classifier needs at least two; check the target column, or choose "
                        f"another target", where=target)
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "classification"
    if values.nunique() > MAX_CATEGORIES or not _integral(values):
        return "regression"
    if values.nunique() > 2 and len(values) / values.nunique() < MIN_ROWS_PER_CLASS:
        return "regression"  # 20 weights of 16 distinct values are amounts, not classes
    return "classification"


def infer_column(series: pd.Series, name: str, base_dir: Path) -> ColumnInference:
    """Decide one column's feature type (or why it is skipped)."""
    import pandas as pd

    values = series.dropna()
    rows = len(series)
    missing = f", {rows - len(values)} missing" if len(values) < rows else ""
    if values.empty:
        return ColumnInference(name, "skipped", "every value is missing")
    if getattr(values.iloc[0], "ndim", 0) > 0:  # array cells, e.g. images from an .npz source
        return _array_column(name, values, missing)
    if _all_image_paths(values):  # before the value counts: one image file may repeat
        return _image_column(name, values.astype(str), base_dir, missing)
    distinct = int(values.nunique())
    if distinct == 1:
        return ColumnInference(name, "skipped", f"constant (only {_plain(values.iloc[0])!r})")
    if pd.api.types.is_bool_dtype(values) or distinct == 2:
        shown = ", ".join(_show(v) for v in sorted(values.unique(), key=str))
        return _feature(name, "binary", f"two values ({shown}){missing}")
    if isinstance(series.dtype, pd.CategoricalDtype):
        return _categorical(name, values, f"category dtype, {distinct} categories{missing}")
    if pd.api.types.is_numeric_dtype(values):
        return _numeric_column(name, values, rows, distinct, missing)
    return _string_column(name, values.astype(str), rows, distinct, missing, base_dir)


def _numeric_column(name: str, values: pd.Series, rows: int, distinct: int,
                    missing: str) -> ColumnInference:
    integral = _integral(values)
    if integral and distinct == len(values) and rows >= 10 and (
            ID_NAME.search(name) or _consecutive(values)):
        return ColumnInference(name, "skipped", "id-like: a different integer on every row")
    if integral and distinct <= MAX_CATEGORIES and distinct < CATEGORY_ROW_FRACTION * rows:
        if _ordered_scale(values, distinct):
            low, high = int(values.min()), int(values.max())
            return _feature(name, "numeric", f"integers {low}–{high} ({distinct} levels): an "
                            f"ordered scale, read as a number{missing}")
        return _categorical(name, values,
                            f"integers with only {distinct} distinct values{missing}")
    import numpy as np

    kind = "integers" if integral else "numbers"
    numbers = values.to_numpy(dtype=np.float64)
    finite = numbers[np.isfinite(numbers)]
    infinite = int(np.isinf(numbers).sum())
    span = (f"{kind} from {_number(float(finite.min()))} to {_number(float(finite.max()))}"
            if finite.size else "no finite numbers")
    if infinite:  # data.non_finite decides what becomes of them; the default stops a run
        span += f", {infinite} infinite (see data.non_finite)"
    return _feature(name, "numeric", f"{span}{missing}")


def _string_column(name: str, values: pd.Series, rows: int, distinct: int, missing: str,
                   base_dir: Path) -> ColumnInference:
    mean_length = float(values.str.len().mean())
    spaces = float(values.str.contains(" ", regex=False).mean())
    unique_share = distinct / len(values)
    if unique_share > 0.5 and (mean_length > TEXT_MIN_LENGTH or spaces > 0.5):
        return _text(name, values, f"free text: {distinct} distinct values, mean "
                                   f"{mean_length:.0f} characters", missing)
    if distinct == len(values) and rows >= 10:
        return ColumnInference(name, "skipped", "id-like: a different string on every row")
    if distinct > MAX_STRING_CATEGORIES:
        return _text(name, values, f"{distinct} distinct strings, too many for categories "
                                   f"— read as text", missing)
    return _categorical(name, values, f"strings with {distinct} distinct values{missing}")


def _image_column(name: str, values: pd.Series, base_dir: Path, missing: str) -> ColumnInference:
    paths = [_resolve(str(v), base_dir) for v in values]
    absent = [p for p in paths if not p.is_file()]
    if absent:
        return ColumnInference(
            name, "skipped", f"image paths, but {len(absent)} of {len(paths)} files do not "
                             f"exist (first: {absent[0]}) — paths resolve against {base_dir}")
    shape = _image_shape(paths[0])
    return _feature(name, "image", f"paths of {len(paths)} image files, first one "
                                   f"{shape[0]}×{shape[1]}×{shape[2]} (C×H×W){missing}",
                    shape=shape)


def _text(name: str, values: pd.Series, reason: str, missing: str) -> ColumnInference:
    """A text feature sized from the data: the vocabulary the tokenizer would keep (words,
    lower-cased) and a length that fits 95% of the texts."""
    import numpy as np

    tokens = values.str.lower().str.findall(r"\w+")
    vocabulary = len({t for row in tokens for t in row})
    vocab_size = min(MAX_VOCAB, vocabulary + 2)  # + padding and unknown ids
    longest = float(np.percentile(tokens.str.len(), 95))
    max_length = int(min(MAX_TEXT_LENGTH, max(8, math.ceil(longest / 8) * 8)))
    return _feature(name, "text", f"{reason}, {vocabulary} distinct words{missing}",
                    vocab_size=vocab_size, max_length=max_length)


def _array_column(name: str, values: pd.Series, missing: str) -> ColumnInference:
    shape = tuple(int(n) for n in values.iloc[0].shape)
    if len(shape) == 3 and shape[0] in (1, 3, 4):
        image = list(shape)
    elif len(shape) == 3 and shape[-1] in (1, 3, 4):
        image = [shape[2], shape[0], shape[1]]  # (H, W, C) → (C, H, W)
    elif len(shape) == 2:
        image = [1, *shape]
    else:
        return ColumnInference(name, "skipped", f"arrays of shape {list(shape)} per row: only "
                                                f"images (C, H, W) are read from array cells")
    return _feature(name, "image", f"image arrays, {image[0]}×{image[1]}×{image[2]} (C×H×W)"
                                   f"{missing}", shape=image)


def _image_shape(path: Path) -> list[int]:
    """[channels, height, width] of one image, sides capped at `MAX_IMAGE_SIDE`."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            channels = 1 if image.mode in ("1", "L", "I", "F", "I;16") else 3
            width, height = image.size
    except OSError as exc:
        raise DataError(f"{path}: cannot read this image ({exc}) — is it a PNG or JPEG?") from None
    return [channels, min(height, MAX_IMAGE_SIDE), min(width, MAX_IMAGE_SIDE)]


def _categorical(name: str, values: pd.Series, reason: str) -> ColumnInference:
    plain = {_plain(v) for v in values.unique()}
    if not all(isinstance(v, int) for v in plain):
        plain = {str(v) for v in plain}  # categories are strings or integers
    categories = sorted(plain)
    return _feature(name, "categorical", reason, categories=categories)


def _feature(name: str, kind: FeatureType, reason: str, **extra: Any) -> ColumnInference:
    return ColumnInference(name, "feature", reason, FeatureSpec(name=name, type=kind, **extra))


def _all_image_paths(values: pd.Series) -> bool:
    import pandas as pd

    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    return bool(values.astype(str).str.lower().str.endswith(IMAGE_SUFFIXES).all())


def _integral(values: pd.Series) -> bool:
    import numpy as np

    array = values.to_numpy(dtype=float, na_value=np.nan)
    return bool(np.all(np.isfinite(array)) and np.all(np.mod(array, 1) == 0))


def _consecutive(values: pd.Series) -> bool:
    """True for a permutation of a run of integers (a row number)."""
    return int(values.max()) - int(values.min()) == len(values) - 1


def _ordered_scale(values: pd.Series, distinct: int) -> bool:
    """Integers with at least MIN_SCALE_LEVELS values filling half their range or more."""
    span = int(values.max()) - int(values.min()) + 1
    return distinct >= MIN_SCALE_LEVELS and 2 * distinct >= span


def _plain(value: Any) -> Any:
    """NumPy scalars → Python scalars (YAML and JSON friendly)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _number(x: float) -> str:
    """12,345 or 0.1234: readable in a YAML comment."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"


def _show(value: Any) -> str:
    value = _plain(value)
    return _number(value) if isinstance(value, float) else repr(value)


def _resolve(value: str, base_dir: Path) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path
