"""The design stage: build a blueprint's model and measure it before any training."""

from __future__ import annotations

import sys
import types
from typing import Any

from kiln.design.stage import BudgetCheck, DesignReport, DesignRow, design

__all__ = ["BudgetCheck", "DesignReport", "DesignRow", "design"]


class _CallableModule(types.ModuleType):
    """`kiln.design` names both this package and the stage function: importing the package
    rebinds the attribute `kiln.design` to the module, so the module itself calls `design`."""

    def __call__(self, *args: Any, **kwargs: Any) -> DesignReport:
        return design(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
