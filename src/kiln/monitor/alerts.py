"""Alerts: what crossed a threshold, raised as log lines and an optional webhook POST.

An alert names the feature, the test, the value, the threshold and the window. Nothing
is raised for a window with fewer rows than `MonitorSpec.min_window_rows` (its figures are
still reported), nor for realised accuracy on fewer than `min_labelled_rows` labels.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from kiln.errors import KilnError
from kiln.monitor.drift import DriftResult

log = logging.getLogger("kiln.monitor")


class AlertDeliveryError(KilnError):
    """The alert webhook could not be reached or refused the POST."""

    kind = "alert_delivery"
    exit_code = 4
    http_status = 502


@dataclass(frozen=True)
class Alert:
    """One threshold crossed. `kind`: drift | accuracy | estimated_accuracy | ood_rate."""

    kind: str
    feature: str
    test: str
    value: float
    threshold: float
    window: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def drift_alerts(results: Sequence[DriftResult], window: str) -> list[Alert]:
    out = []
    for r in results:
        if not r.drifted:
            continue
        relation = "≤" if r.p_adjusted is not None and r.value == r.p_adjusted else ">"
        shown = f"{r.test} corrected p" if relation == "≤" else r.test
        out.append(Alert("drift", r.feature, r.test, r.value, r.threshold, window,
                         f"drift in {r.feature}: {shown} = {r.value:.4g} "
                         f"{relation} {r.threshold:g} over {window}"))
    return out


def performance_alerts(perf: Mapping[str, Any], ops: Mapping[str, Any], spec: Any,
                       window: str) -> list[Alert]:
    """Accuracy and estimated-accuracy floors, the OOD-rate ceiling."""
    out = []
    accuracy = perf.get("accuracy")
    if spec.accuracy_floor is not None and accuracy \
            and perf.get("labelled_rows", 0) >= spec.min_labelled_rows \
            and accuracy["value"] < spec.accuracy_floor:
        out.append(Alert("accuracy", "(model)", "realised_accuracy", accuracy["value"],
                         spec.accuracy_floor, window,
                         f"accuracy {accuracy['value']:.3f} on {perf['labelled_rows']} "
                         f"labelled rows < floor {spec.accuracy_floor:g} over {window}"))
    estimate = perf.get("estimated_accuracy")
    if spec.estimated_accuracy_floor is not None and estimate \
            and estimate["value"] < spec.estimated_accuracy_floor:
        out.append(Alert("estimated_accuracy", "(model)", "cbpe", estimate["value"],
                         spec.estimated_accuracy_floor, window,
                         f"estimated accuracy {estimate['value']:.3f} < floor "
                         f"{spec.estimated_accuracy_floor:g} over {window}"))
    if ops.get("rows") and ops["ood_rate"] > spec.ood_rate_ceiling:
        out.append(Alert("ood_rate", "(inputs)", "ood_rate", ops["ood_rate"],
                         spec.ood_rate_ceiling, window,
                         f"{ops['ood_rate']:.1%} of answers out of distribution > ceiling "
                         f"{spec.ood_rate_ceiling:.1%} over {window}"))
    return out


def log_alerts(alerts: Sequence[Alert]) -> None:
    """One WARNING line per alert on the `kiln.monitor` logger."""
    for alert in alerts:
        log.warning("kiln alert %s", json.dumps(alert.to_dict(), separators=(",", ":")))


def post_webhook(url: str, payload: Mapping[str, Any], *, timeout: float = 10.0) -> int:
    """POST `payload` as JSON to `url`; returns the HTTP status. Raises
    `AlertDeliveryError` when the endpoint is unreachable or answers an error."""
    if not url.startswith(("http://", "https://")):
        raise AlertDeliveryError(f"--alert-webhook {url}: not an http(s) URL", where=url)
    body = json.dumps(payload, default=str).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        raise AlertDeliveryError(f"alert webhook {url} answered {exc.code} — check the "
                                 f"receiving service", where=url) from None
    except (urllib.error.URLError, OSError) as exc:
        raise AlertDeliveryError(f"alert webhook {url} unreachable ({exc}) — is the "
                                 f"receiver running?", where=url) from None
