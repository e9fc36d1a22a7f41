"""Monitoring: drift, performance with and without labels, thresholds and alerts.

`check(bundle, log)` compares one window of the prediction log (`kiln.prediction_log`) with
the training profile in the bundle and returns a `MonitorReport`; `kiln monitor` is the
same function with a terminal table, `--json` and an HTML page. Drift tests live in a
registry (`kiln.monitor.registry.TESTS`), filled by `@drift_test`. `prometheus_lines` and
`status_summary` give a service what it shows on `/metrics` and its status page.
"""

from __future__ import annotations

from kiln.monitor.alerts import Alert, AlertDeliveryError, post_webhook
from kiln.monitor.check import MonitorReport, check, resolve_bundle
from kiln.monitor.drift import DriftResult
from kiln.monitor.registry import TESTS, drift_test
from kiln.monitor.service import prometheus_lines, status_summary

__all__ = ["TESTS", "Alert", "AlertDeliveryError", "DriftResult", "MonitorReport", "check",
           "drift_test", "post_webhook", "prometheus_lines", "resolve_bundle",
           "status_summary"]
