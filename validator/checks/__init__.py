"""The static checks: they read files only, importing neither mlflow, pandas nor the model."""
