"""No answer carries NaN: the model inputs and the decoded outputs of a batch are checked.

A value can be finite as a client sends it and still overflow once preprocessed (1e308
scaled and cast to float32 is inf), and a finite input far outside training can drive
a logit to inf and a softmax to NaN. Either way the record is refused with a
`BundleError` naming it (and the field, when one is to blame), never answered with NaN.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from kiln.errors import BundleError


def check_inputs(inputs: Mapping[str, np.ndarray], groups: Mapping[str, list[str]],
                 first: int = 0) -> None:
    """Raise for the first record whose preprocessed input is not finite. `groups`: model
    input → its field names (`Preprocessor.inputs`); `first`: index of the batch's row 0."""
    for name, array in inputs.items():
        if array.dtype.kind != "f":
            continue  # ids: always finite
        bad = ~np.isfinite(array.reshape(len(array), -1))  # (N, F)
        if not bad.any():
            continue
        row, column = (int(i) for i in np.argwhere(bad)[0])
        fields = groups.get(name, [name])
        field = fields[column] if len(fields) > 1 else fields[0]
        index = first + row
        raise BundleError(f"record {index}: field {field!r} is too large in magnitude for the "
                          f"model (it overflows once scaled) — send a value in the range "
                          f"the model was trained on", where=f"records[{index}].{field}")


def check_answers(decoded: Mapping[str, np.ndarray], first: int = 0) -> None:
    """Raise for the first record with a non-finite probability or value in any output."""
    for name, values in decoded.items():
        bad = ~np.isfinite(np.asarray(values, dtype=np.float64).reshape(len(values), -1))
        if bad.any():
            index = first + int(np.flatnonzero(bad.any(axis=1))[0])
            raise BundleError(f"record {index}: the model's {name!r} answer is not finite — "
                              f"its values are far outside what the model was trained on "
                              f"(see Bundle.flags); no answer is given rather than NaN",
                              where=f"records[{index}]")
