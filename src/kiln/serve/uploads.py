"""`POST /predict/image`: one PNG or JPEG upload (multipart field `file`) for a bundle with
one image field. The image header is read first: not an image, another format, or more
pixels than `max_image_pixels` (a decompression bomb) is a 4xx before anything is decoded.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Message

from kiln.serve.body import read_limited, require_type
from kiln.serve.problems import RequestRejected

FORMATS = ("PNG", "JPEG")
UPLOAD_SCHEMA: dict[str, Any] = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary"}}}}},
}


def image_field(fields: Sequence[Mapping[str, Any]]) -> str:
    """The name of the bundle's one image field, or 404 when it has none / several."""
    images = [f["name"] for f in fields if f["type"] == "image"]
    if len(images) != 1 or len(fields) != 1:
        raise RequestRejected("this model does not take a single image — use POST /predict "
                              "with JSON records", status=404, field="file")
    return images[0]


async def read_upload(request: Request, *, limit: int, max_pixels: int) -> bytes:
    """The uploaded file's bytes, checked to be a PNG or JPEG of acceptable size."""
    require_type(request, ("multipart/form-data",))
    data = await read_limited(request, limit)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": data, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=4)
    except Exception as exc:  # python-multipart / Starlette parse errors for a broken body
        raise RequestRejected(f"malformed multipart body ({type(exc).__name__}) — send "
                              f"`-F file=@image.png`", status=400, field="file") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise RequestRejected("no file in field 'file' — send `-F file=@image.png`",
                              status=422, field="file")
    content = await upload.read()
    check_image(content, max_pixels)
    return content


def check_image(content: bytes, max_pixels: int) -> None:
    """Refuse what is not a PNG/JPEG, or has more than `max_pixels` pixels, before decoding."""
    from PIL import Image, UnidentifiedImageError

    # Pillow refuses to decode beyond twice this (DecompressionBombError), also inside the
    # bundle's own decoder; set here so that PIL is imported only by image services.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked below
            with Image.open(io.BytesIO(content)) as image:
                fmt, (width, height) = image.format, image.size
    except Image.DecompressionBombError:
        raise RequestRejected(f"the image has more pixels than twice the limit of "
                              f"{max_pixels:,} — send a smaller image", status=413,
                              field="file") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise RequestRejected("the upload is not an image — send a PNG or JPEG file",
                              status=415, field="file") from None
    if fmt not in FORMATS:
        raise RequestRejected(f"the upload is a {fmt} image — send a PNG or JPEG file",
                              status=415, field="file")
    if width * height > max_pixels:
        raise RequestRejected(f"the image has {width}×{height} pixels, more than the limit "
                              f"of {max_pixels:,} — send a smaller image", status=413,
                              field="file")
