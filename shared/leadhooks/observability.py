"""Powertools Logger and Metrics at module level; Tracer only when tracing is on (X-Ray is costly)."""

from __future__ import annotations

import logging
import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from leadhooks.masking import DELIVERY_ID_KEYS, mask_delivery_id

# At DEBUG, botocore logs whole request bodies (a failure envelope is a lead) and urllib3 logs request
# lines (Omnicasa's secret key is in the path). Whatever the log level, they stay at WARNING.
for _name in ("botocore", "boto3", "urllib3", "s3transfer"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class _Formatter(LambdaPowertoolsFormatter):
    """Powertools' JSON lines, with caller-chosen delivery ids that look like personal data masked: the
    correlation id and every `deliveryId` extra pass through `masking.mask_delivery_id` here, once."""

    def serialize(self, log: Any) -> str:
        for key in DELIVERY_ID_KEYS & log.keys():
            log[key] = mask_delivery_id(log[key])
        return super().serialize(log)


logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "leadhooks"), logger_formatter=_Formatter())
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "Leadhooks"))

__all__ = ["MetricUnit", "count", "logger", "metrics", "tracer"]


def count(name: str, **dimensions: str) -> None:
    """Emit one count; dimensions go into a single-metric blob so they don't leak onto other metrics."""
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "false").lower() == "true":
        return
    if not dimensions:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        return
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=metrics.namespace,
        default_dimensions=metrics.default_dimensions,
    ) as metric:
        for key, value in dimensions.items():
            metric.add_dimension(name=key, value=value)


def _make_tracer() -> Any:
    if os.environ.get("LEADHOOKS_TRACING", "false").lower() != "true":
        return None
    from aws_lambda_powertools import Tracer

    return Tracer()


tracer: Any = _make_tracer()
