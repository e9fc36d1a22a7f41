"""The LitServe API of the serving benchmark (its own module: LitServe pickles the API
object into its inference worker process, so the class must be importable).

LitServe reads the annotation of `decode_request`'s `request` to build its FastAPI
endpoint: none means "the parsed JSON body"; `Any` (or a string) would make it a query
parameter."""

from typing import Any

import litserve as ls


class BundleAPI(ls.LitAPI):  # type: ignore[misc]
    """A kiln bundle behind LitServe: each batch of requests is one `Bundle.predict`."""

    def __init__(self, bundle: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bundle_path = bundle

    def setup(self, device: Any) -> None:
        import kiln.bundle

        self.bundle = kiln.bundle.load(self.bundle_path)

    def decode_request(self, request):  # type: ignore[no-untyped-def]  # see module docstring
        return request["records"]

    def batch(self, inputs: Any) -> Any:
        return list(inputs)

    def predict(self, batch: Any) -> Any:  # a list of requests' record lists
        answers = self.bundle.predict([r for records in batch for r in records])
        out, start = [], 0
        for records in batch:
            out.append(answers[start:start + len(records)])
            start += len(records)
        return out

    def unbatch(self, output: Any) -> Any:
        return output

    def encode_response(self, output: Any) -> Any:
        return {"predictions": output}
