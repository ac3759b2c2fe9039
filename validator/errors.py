from __future__ import annotations


class ValidatorError(Exception):
    """Something the user must fix before a run can be made (exit status 2)."""
