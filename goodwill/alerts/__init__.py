"""Alerts and digests: rules find events, an outbox delivers them by email, webhook and feed."""

from goodwill.alerts.rules import FREQUENCIES, KINDS, RuleError
from goodwill.alerts.service import AlertService, RuleView

__all__ = ["FREQUENCIES", "KINDS", "AlertService", "RuleError", "RuleView"]
