"""Images as arrays: decode (path, bytes or array) → resize → (C, H, W) float32; augmentation.

NumPy only at import time; Pillow is imported when a file or upload has to be decoded.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from kiln.errors import DataError

MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def to_chw(value: Any, shape: tuple[int, int, int], where: str) -> np.ndarray:
    """One image → (C, H, W) float32 of `shape`.

    `value`: a (C, H, W), (H, W) or (H, W, C) array (pixel values kept as they are), or a
    file path / encoded bytes (PNG, JPEG; pixels scaled to 0..1). `where` names the value in
    errors ("column 'image', row 3"). Raises `DataError` for a file that is not an image.
    """
    if isinstance(value, (str, Path, bytes, bytearray)):
        return _decode(value, shape, where)
    array = np.asarray(value, dtype=np.float32)
    channels, height, width = shape
    if array.ndim == 2 and channels == 1:
        array = array[None]  # (H, W) → (1, H, W)
    elif array.ndim == 3 and array.shape[0] != channels and array.shape[-1] == channels:
        array = array.transpose(2, 0, 1)  # (H, W, C) → (C, H, W)
    if array.ndim != 3 or array.shape[0] != channels:
        raise DataError(f"{where}: an image array of shape {array.shape} does not fit the "
                        f"declared shape {list(shape)} — fix `shape` in data.features")
    if array.shape[1:] != (height, width):
        array = np.stack([_resize_plane(plane, height, width) for plane in array])
    return np.ascontiguousarray(array, dtype=np.float32)


def _decode(value: str | Path | bytes | bytearray, shape: tuple[int, int, int],
            where: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    channels, height, width = shape
    if isinstance(value, (bytes, bytearray)):
        source: Any = io.BytesIO(value)
        name = f"{where}: the upload"
    else:
        source = Path(value)
        name = f"{value} ({where})"
        if not source.is_file():
            raise DataError(f"{name}: no such image file — check the path")
    try:
        with Image.open(source) as opened:
            image = opened.convert(MODES.get(channels, "RGB"))
    except (UnidentifiedImageError, OSError, ValueError):
        raise DataError(f"{name}: not an image (PNG or JPEG) — remove or replace the "
                        f"file") from None
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.float32) / 255.0  # (H, W) or (H, W, C)
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)  # (C, H, W)
    if array.shape[0] != channels:
        raise DataError(f"{name}: has {array.shape[0]} channels, the feature declares "
                        f"{channels} — fix `shape` in data.features")
    return np.ascontiguousarray(array)


def _resize_plane(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    from PIL import Image

    image = Image.fromarray(plane.astype(np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR), np.float32)


def image_shape(value: Any) -> tuple[int, int, int] | None:
    """The natural (C, H, W) of one image value, or None when it cannot be read."""
    if isinstance(value, (str, Path)):
        from PIL import Image

        try:
            with Image.open(value) as image:
                channels = {"L": 1, "1": 1, "P": 3, "RGB": 3, "RGBA": 4}.get(image.mode, 3)
                return channels, image.size[1], image.size[0]
        except (OSError, ValueError):
            return None
    if isinstance(value, np.ndarray):
        if value.ndim == 2:
            return 1, value.shape[0], value.shape[1]
        if value.ndim == 3:
            if value.shape[-1] in (3, 4) and value.shape[0] not in (1, 3, 4):
                return value.shape[2], value.shape[0], value.shape[1]
            return value.shape[0], value.shape[1], value.shape[2]
    return None


def augment_images(batch: np.ndarray, rng: np.random.Generator, *, max_shift: float = 0.1,
                   flip: bool = True) -> np.ndarray:
    """Random shifts (up to `max_shift` of each side, zero fill) and horizontal flips.

    For normalised images zero is the channel mean, so the fill is neutral. Call it on a
    training batch (N, C, H, W) only; evaluation and serving never augment. Returns a new
    array; the same `rng` state gives the same result.
    """
    n, _, height, width = batch.shape
    dy_max, dx_max = round(height * max_shift), round(width * max_shift)
    padded = np.pad(batch, ((0, 0), (0, 0), (dy_max, dy_max), (dx_max, dx_max)))
    dys = rng.integers(0, 2 * dy_max + 1, size=n).tolist()
    dxs = rng.integers(0, 2 * dx_max + 1, size=n).tolist()
    flips = ((np.asarray(rng.random(n)) < 0.5) & flip).tolist()
    out = np.empty_like(batch)
    for i, (dy, dx, flipped) in enumerate(zip(dys, dxs, flips, strict=True)):
        crop = padded[i, :, dy:dy + height, dx:dx + width]  # (C, H, W)
        out[i] = crop[:, :, ::-1] if flipped else crop
    return out
