"""Data sources → one pandas table: bundled sklearn datasets, CSV, Parquet, .npz, image folders.

Every loader returns a `LoadedTable`: the rows as a DataFrame (one column per feature or
target; image columns hold arrays or file paths), what to call the source in messages, and
the folder that relative paths inside the table resolve against.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.errors import DataError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

    from kiln.blueprint.schema import Blueprint, FeatureSpec

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
                  ".npz": "npz"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


@dataclass
class LoadedTable:
    """The loaded rows. `origin` names the source in messages (a path or `sklearn:NAME`)."""

    frame: pd.DataFrame
    origin: str
    base_dir: Path | None = None  # relative image paths in the table resolve against it
    is_file: bool = False  # rows come from a file: messages cite file rows


def load_source(source: str | Path, *, blueprint: Blueprint | None = None,
                features: list[FeatureSpec] | None = None) -> LoadedTable:
    """Load `source`: `sklearn:NAME`, a .csv/.parquet/.npz file, or an image folder.

    A relative path resolves against the blueprint's folder when `blueprint` is given (the
    blueprint's `data.source`), else against the working directory (a `--data` override).
    `features` (declared) fix how CSV columns are read: numbers must parse, text stays text.
    Raises `DataError` naming the file for a missing, empty or unreadable source.
    """
    text = str(source)
    if text.startswith("sklearn:"):
        return load_sklearn(text.split(":", 1)[1])
    path = blueprint.resolve(text) if blueprint is not None else Path(text).expanduser()
    if not path.exists():
        hint = "check data.source in the blueprint" if blueprint is not None else "check the path"
        raise DataError(f"{path}: no such file or folder — {hint}")
    if path.is_dir():
        return load_image_folder(path)
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"{path}: cannot read {path.suffix or 'extensionless'} files — kiln reads .csv, "
            f".tsv, .parquet, .npz, an image folder (one sub-folder per class) or sklearn:NAME"
        )
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty — it needs a header and data rows")
    loaders: dict[str, Callable[[Path, list[FeatureSpec] | None], pd.DataFrame]] = {
        "csv": _read_csv, "parquet": _read_parquet, "npz": _read_npz}
    frame = loaders[kind](path, features)
    if len(frame) == 0:
        raise DataError(f"{path}: no data rows — the file has columns but no rows")
    table = LoadedTable(frame, str(path), path.parent, is_file=True)
    if features:
        parse_numeric(table, features)
    return table


# --------------------------------------------------------------------------- sklearn


def _sklearn_digits() -> pd.DataFrame:
    import pandas as pd
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.float32)[:, None]  # (N, 1, 8, 8), values 0..16
    return pd.DataFrame({"image": pd.Series(list(images), dtype=object),
                         "label": [str(int(t)) for t in bunch.target]})


def _sklearn_classes(loader_name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import pandas as pd
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, loader_name)()
        frame = pd.DataFrame(bunch.data, columns=list(bunch.feature_names))
        frame["label"] = [str(bunch.target_names[t]) for t in bunch.target]
        return frame
    return load


def _sklearn_diabetes() -> pd.DataFrame:
    import pandas as pd
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes()
    frame = pd.DataFrame(bunch.data, columns=list(bunch.feature_names))
    frame["progression"] = bunch.target.astype(np.float64)
    return frame


SKLEARN_DATASETS: dict[str, Callable[[], pd.DataFrame]] = {
    "breast_cancer": _sklearn_classes("load_breast_cancer"),
    "diabetes": _sklearn_diabetes,
    "digits": _sklearn_digits,
    "iris": _sklearn_classes("load_iris"),
    "wine": _sklearn_classes("load_wine"),
}


def load_sklearn(name: str) -> LoadedTable:
    """A bundled scikit-learn dataset by name (no download)."""
    loader = SKLEARN_DATASETS.get(name)
    if loader is None:
        raise DataError(f"sklearn:{name}: no such bundled dataset"
                        f"{did_you_mean(name, list(SKLEARN_DATASETS))}"
                        f" — available: {', '.join('sklearn:' + n for n in SKLEARN_DATASETS)}")
    return LoadedTable(loader(), f"sklearn:{name}")


# --------------------------------------------------------------------------- files


def _read_csv(path: Path, features: list[FeatureSpec] | None) -> pd.DataFrame:
    import pandas as pd

    # Declared non-numeric columns are read as text so that "007" stays "007"; numeric ones
    # are parsed afterwards by `parse_numeric`, which names the row of a bad value.
    as_text = {f.name: str for f in features or [] if f.type != "numeric"}
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        return pd.read_csv(path, sep=sep, dtype=as_text)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty — it needs a header and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise DataError(f"{path}: not a readable CSV file ({first})") from None


def _read_parquet(path: Path, features: list[FeatureSpec] | None) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: not a readable Parquet file ({first})") from None


def _read_npz(path: Path, features: list[FeatureSpec] | None) -> pd.DataFrame:
    import zipfile

    import pandas as pd

    if not zipfile.is_zipfile(path):  # np.load would try to unpickle it
        raise DataError(f"{path}: not a readable .npz archive — write it with np.savez")
    try:
        archive = np.load(path, allow_pickle=False)  # never unpickle data
        arrays = {name: archive[name] for name in archive.files}
    except ValueError:
        raise DataError(f"{path}: holds object arrays, which need pickle — save strings as "
                        f"fixed-width unicode (np.array(values, dtype=str))") from None
    except (OSError, zipfile.BadZipFile, EOFError):
        raise DataError(f"{path}: not a readable .npz archive") from None
    if not arrays:
        raise DataError(f"{path}: the archive holds no arrays")
    lengths = {name: len(a) for name, a in arrays.items() if a.ndim > 0}
    if len(set(lengths.values())) > 1 or len(lengths) < len(arrays):
        raise DataError(f"{path}: every array needs the same first axis (one entry per row), "
                        f"got lengths {lengths}")
    columns: dict[str, Any] = {}
    for name, array in arrays.items():
        if array.ndim == 1:
            columns[name] = array.tolist() if array.dtype.kind in "US" else array
        else:  # (N, ...) → a column whose cells are arrays, e.g. images (N, C, H, W)
            columns[name] = pd.Series(list(array), dtype=object)
    return pd.DataFrame(columns)


def load_image_folder(path: Path) -> LoadedTable:
    """One sub-folder per class with PNG/JPEG files → columns `image` (paths) and `label`."""
    import pandas as pd

    classes = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"{path}: an image folder needs one sub-folder per class "
                        f"(e.g. {path}/cat/1.png) — found none")
    paths, labels = [], []
    for folder in classes:
        for file in sorted(folder.iterdir()):
            if file.is_file() and file.suffix.lower() in IMAGE_SUFFIXES:
                paths.append(str(file.resolve()))
                labels.append(folder.name)
    if not paths:
        raise DataError(f"{path}: the class folders hold no .png/.jpg/.jpeg files")
    return LoadedTable(pd.DataFrame({"image": paths, "label": labels}), str(path), path)


# --------------------------------------------------------------------------- columns


def parse_numeric(table: LoadedTable, features: list[FeatureSpec]) -> None:
    """Turn declared numeric columns into float64; a value that is not a number is an error
    naming the column, the row (1-based data row, as in the file) and the value."""
    import pandas as pd

    frame = table.frame
    for feature in features:
        if feature.type != "numeric" or feature.name not in frame.columns:
            continue
        column = frame[feature.name]
        if column.dtype.kind in "fiub":
            frame[feature.name] = column.astype(np.float64)
            continue
        parsed = pd.to_numeric(column, errors="coerce")
        bad = np.flatnonzero(parsed.isna().to_numpy() & column.notna().to_numpy())
        if len(bad):
            row = int(bad[0])
            where = f"{table.origin}: column {feature.name!r}, row {row + 1}"
            if table.is_file and Path(table.origin).suffix.lower() in (".csv", ".tsv"):
                where += f" (line {row + 2})"
            raise DataError(f"{where}: {column.iloc[row]!r} is not a number — the feature is "
                            f"declared numeric; fix the value or declare type: categorical")
        frame[feature.name] = parsed.astype(np.float64)


def resolve_image_paths(table: LoadedTable, features: list[FeatureSpec]) -> None:
    """Relative paths in image columns resolve against the table's own folder."""
    if table.base_dir is None:
        return
    base = table.base_dir
    for feature in features:
        if feature.type != "image" or feature.name not in table.frame.columns:
            continue
        table.frame[feature.name] = [
            str(base / v) if isinstance(v, str) and not Path(v).is_absolute() else v
            for v in table.frame[feature.name]
        ]
