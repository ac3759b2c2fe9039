"""The flavors a project may log its script with: one row each, read by the model.yaml loader,
the logging worker, the request checks and the model-kind rule (as MLflow's own flavor backend
registry keeps one entry per flavor). Standard library only: `check` reads it too.

Adding a flavor is adding a row (see CONTRIBUTING.md): how MLflow logs it, what it needs
installed, which options model.yaml may give it, and whether it takes artifacts.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Flavor:
    name: str
    module: str  # mlflow.<module>.log_model logs it
    script_argument: str  # the log_model argument that takes the script's path
    # the module its logging imports beyond mlflow, and the distribution that provides it
    needs: tuple[str, str] | None = None
    # options under flavor_options: name -> its choices, the first the default
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    artifacts: bool = False  # whether model.yaml artifacts reach the model (pyfunc's context)
    # the model kind its requests follow (None: decided from the script's classes)
    kind: str | None = None

    def option(self, name: str, given: dict[str, str]) -> str:
        """The option NAME as model.yaml gives it, else its default."""
        return given.get(name, self.options[name][0])


FLAVORS: dict[str, Flavor] = {
    flavor.name: flavor
    for flavor in (
        Flavor("pyfunc", "pyfunc", "python_model", artifacts=True),
        Flavor(
            "langchain",
            "langchain",
            "lc_model",
            needs=("langchain", "langchain"),
            kind="langchain",
        ),
        Flavor(
            "llama_index",
            "llama_index",
            "llama_index_model",
            needs=("llama_index.core", "llama-index-core"),
            options={"engine_type": ("query", "chat", "retriever")},
            kind="llama_index",
        ),
    )
}
