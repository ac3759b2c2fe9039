"""In the validator's own process, with mlflow: logging the model from code, and the
checks of the logged model (signature, example, predictions, type hints, evaluation)."""
