"""The commands: each builds its stages, runs them and returns the report."""
