"""The checks that read files only, importing neither mlflow, pandas nor the model: the static
stages `check` runs, and `logged_files`, which reads the logged model's folder the same way."""
