"""The registry's own gate: `mfc-validator webhook` receives the model registry's webhook events
from an MLflow server, validates each new model version from its own files, and writes the
verdict on the version (tags, description, an alias for those that passed)."""
