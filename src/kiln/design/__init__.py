"""The design stage: build a blueprint's model and measure it before any training."""

from kiln.design.stage import BudgetCheck, DesignReport, DesignRow, design

__all__ = ["BudgetCheck", "DesignReport", "DesignRow", "design"]
