"""`kiln serve`: a bundle as a fast, strict, observable REST service.

`create_app(bundle_or_ref, settings) -> FastAPI` builds the app (testable in-process);
`serve(bundle_or_ref, settings, host=..., port=..., workers=...)` runs it with uvicorn.
Imports NumPy, ONNX Runtime, FastAPI/Starlette, uvicorn, prometheus-client and orjson —
never torch. See docs/serve.md.
"""

from __future__ import annotations

from kiln.serve.app import create_app
from kiln.serve.batcher import DynamicBatcher
from kiln.serve.runner import serve
from kiln.serve.settings import ServeSettings

__all__ = ["DynamicBatcher", "ServeSettings", "create_app", "serve"]
