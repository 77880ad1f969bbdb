"""Goodwill: listen, understand, answer, remember and measure, self-hosted."""

__version__ = "0.1.0"
