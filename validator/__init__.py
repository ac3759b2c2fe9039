"""Validate MLflow models-from-code projects before they are registered."""

from __future__ import annotations

__version__ = "0.1.0"
