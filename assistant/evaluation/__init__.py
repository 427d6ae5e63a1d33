"""Evaluation suites: golden data, metrics and the runner behind `reconnect eval run`."""

import logging


class _UnmappedEntityNoise(logging.Filter):
    """Presidio's "Entity CARDINAL is not mapped to a Presidio entity, but keeping anyway" warning, once per
    number or ordinal spaCy finds: known noise (those labels are never redacted). It only shows once a root
    handler exists, which ROUGE's absl logging installs during drafting evals; every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "is not mapped to a Presidio entity" not in record.getMessage()


if not any(isinstance(f, _UnmappedEntityNoise) for f in logging.getLogger("presidio-analyzer").filters):
    logging.getLogger("presidio-analyzer").addFilter(_UnmappedEntityNoise())
