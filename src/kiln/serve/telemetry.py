"""The service's Prometheus metrics, in a registry of its own (one per app, so tests and
several apps in one process never share counters).

    kiln_requests_total{route, code}           answers by route template and status code
    kiln_request_seconds{route}                latency histogram, per route
    kiln_batch_rows                            rows per model call (histogram)
    kiln_queue_rows                            rows waiting for the model (gauge)
    kiln_records_total{model, version}         records answered
    kiln_ood_flags_total{kind}                 out-of-distribution reasons, by kind
    kiln_abstained_total / kiln_fallback_total records not answered by the main model
    kiln_model_info{name, version, source}     1 for the version being served
    kiln_reloads_total{outcome}                admin reloads and registry follows
    kiln_log_rows_total / kiln_log_pending     prediction-log rows written / waiting
    kiln_shadow_{records,dropped,failed}_total records the shadow model answered / skipped
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0)
ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Metrics:
    """Every metric of one app; `render()` is the /metrics body."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("kiln_requests", "HTTP answers by route and status code",
                                ["route", "code"], registry=r)
        self.latency = Histogram("kiln_request_seconds", "Time to answer, by route",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.batch_rows = Histogram("kiln_batch_rows", "Rows per model call",
                                    buckets=ROW_BUCKETS, registry=r)
        self.queue_rows = Gauge("kiln_queue_rows", "Rows waiting for the model", registry=r)
        self.records = Counter("kiln_records", "Records answered", ["model", "version"],
                               registry=r)
        self.ood = Counter("kiln_ood_flags", "Out-of-distribution reasons, by kind",
                           ["kind"], registry=r)
        self.abstained = Counter("kiln_abstained", "Records answered with abstained: true",
                                 registry=r)
        self.fallback = Counter("kiln_fallback", "Records answered by the fallback bundle",
                                registry=r)
        self.model_info = Gauge("kiln_model_info", "1 for the model version being served",
                                ["name", "version", "source"], registry=r)
        self.reloads = Counter("kiln_reloads", "Model reloads, by outcome", ["outcome"],
                               registry=r)
        self.log_rows = Counter("kiln_log_rows", "Prediction-log rows written", registry=r)
        self.log_pending = Gauge("kiln_log_pending", "Prediction-log rows not yet written",
                                 registry=r)

        self.shadow_records = Counter("kiln_shadow_records", "Records the shadow answered",
                                      registry=r)
        self.shadow_dropped = Counter("kiln_shadow_dropped", "Records not sent to the shadow "
                                      "(its queue was full)", registry=r)
        self.shadow_failed = Counter("kiln_shadow_failed", "Records the shadow failed on",
                                     registry=r)

    def serving(self, name: str, version: str, source: str) -> None:
        """Mark (name, version) as the one being served (the previous one drops to 0)."""
        for labels in list(self._info_labels()):
            self.model_info.labels(*labels).set(0)
        self.model_info.labels(name, version, source).set(1)

    def _info_labels(self) -> list[tuple[str, ...]]:
        return [tuple(m.labels.values()) for metric in self.model_info.collect()
                for m in metric.samples]

    def render(self) -> bytes:
        return generate_latest(self.registry)
