"""The project: model.yaml loaded strictly, its evaluation config, sources and content hash."""
