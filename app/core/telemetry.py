"""Prometheus metrics, one registry per app (so several apps can live in one process, as in tests)."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

disable_created_metrics()  # the *_created series only add noise to scrapes

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10)


class Telemetry:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("digitserve_requests_total", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("digitserve_request_duration_seconds", "Time from request to response",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.errors = Counter("digitserve_errors_total", "Requests answered with 4xx or 5xx",
                              ["route", "status"], registry=self.registry)
        self.predictions = Counter("digitserve_predictions_total", "Predictions made, by model and answer",
                                   ["model", "answer"], registry=self.registry)
        self.batch_size = Histogram("digitserve_batch_size",
                                    "Images per forward pass, by queue (a model, or a gated task's model+gate)", ["model"],
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128), registry=self.registry)
        self.batch_seconds = Histogram("digitserve_batch_duration_seconds", "Forward pass time per batch, by queue",
                                       ["model"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.shed = Counter("digitserve_shed_total", "Requests refused with 503 because their queue was full, by queue",
                            ["model"], registry=self.registry)
        self.queue_depth = Gauge("digitserve_queue_depth", "Requests waiting for a forward pass, by queue", ["model"],
                                 registry=self.registry)
        self.models_loaded = Gauge("digitserve_model_loaded", "1 when the model is loaded", ["model"],
                                   registry=self.registry)
