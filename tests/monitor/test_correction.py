"""Multiple-testing corrections against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from kiln.monitor.correction import adjust

P = [0.01, 0.04, 0.03, 0.5]


def test_bonferroni_holm_and_bh() -> None:
    np.testing.assert_allclose(adjust(P, "bonferroni"), [0.04, 0.16, 0.12, 1.0])
    # Holm: sorted 0.01·4, 0.03·3, 0.04·2, 0.5·1, made monotone
    np.testing.assert_allclose(adjust(P, "holm"), [0.04, 0.09, 0.09, 0.5])
    # BH: sorted p·m/rank = 0.04, 0.06, 0.0533, 0.5 → step-up minimum from the top
    np.testing.assert_allclose(adjust(P, "bh"), [0.04, 0.0533333, 0.0533333, 0.5], rtol=1e-5)
    assert adjust([], "bh").size == 0
    with pytest.raises(ValueError, match="unknown correction"):
        adjust(P, "sidak")
