"""What the registry's table leaves out: for every check code, the fix and an example that fails.

`docs/codes.md` and `mfc-validator explain CODE` are made from `validator.codes.REGISTRY` and
this table (`validator.render.codes_page`); `tests/unit/test_code_docs.py` fails when a code of
the registry has no entry here, or an entry no code. An example is a few lines of one file of
a project (`file`), or a command line (`file` is `console`); where a scenario under
`tests/fixtures/` fails the code, `fixture` names it and the example's lines are its lines.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeDoc:
    fix: str  # what to do when it fails, in a sentence or two
    file: str  # the file the example is from (its suffix picks the highlighting), or `console`
    example: str  # a few lines that fail (or warn) the check
    fixture: str | None = None  # the scenario under tests/fixtures/ that fails it, if any


_ = CodeDoc
DOCS: dict[str, CodeDoc] = {
    "CFG001": _(
        'Create the file, or correct its path in `model.yaml` (a close name gets a "did you '
        'mean"). Paths are relative to the project folder.',
        "model.yaml",
        "script: serve.py",
        "cfg001_missing_script",
    ),
    "CFG002": _(
        "Move the file into the project folder (or copy it there in a build step) and name it "
        "by a relative path; replace a symlink that leaves the project, or loops, by the file.",
        "model.yaml",
        "artifacts:\n  leak: ../outside-secret.txt",
        "cfg002_path_outside",
    ),
    "CFG003": _(
        "Take the secret file out of the shipped folder (keep it beside the project, git-ignored) "
        "and give the model its secret as a declared `env` variable with `secret: true`.",
        "model.yaml",
        "code_paths:\n  - helpers.py\n  - pkg",
        "cfg003_secret_file",
    ),
    "CFG004": _(
        "Delete the folder from the shipped one, or name only the files the model needs in "
        "`code_paths` or `artifacts`.",
        "model.yaml",
        "code_paths:\n  - helpers.py\n  - pkg",
        "cfg004_cache_folder",
    ),
    "CFG005": _(
        "Make the entry a plain, readable file or folder inside the project (no named pipe, no "
        "symlink loop, nothing removed while the model is logged), then validate again.",
        "console",
        "$ mkfifo pkg/events\n$ mfc-validator validate",
    ),
    "SCR001": _(
        "Fix the error at the file and line the message gives; `python -m py_compile model.py` "
        "shows the same error.",
        "model.py",
        "    def load_context(self,,, context: mlflow.pyfunc.PythonModelContext) -> None:",
        "scr001_syntax_error",
    ),
    "SCR002": _(
        "End the script with `mlflow.models.set_model(<the model>)` at module level.",
        "model.py",
        "model = Scaler()",
        "scr002_no_set_model",
    ),
    "SCR003": _(
        "Call `set_model` once, with the model the script means; MLflow keeps the last one.",
        "model.py",
        "mlflow.models.set_model(Scaler())\nmlflow.models.set_model(Scaler())",
        "scr003_set_model_twice",
    ),
    "SCR004": _(
        "Call `set_model` at module level, unconditionally, as the script's last statement.",
        "model.py",
        "def main() -> None:\n    mlflow.models.set_model(Scaler())",
        "scr004_set_model_in_function",
    ),
    "SCR005": _(
        "Import the module absolutely (`from helpers import scale`) and ship it through "
        "`code_paths`.",
        "model.py",
        "from .helpers import scale",
        "scr005_relative_import",
    ),
    "SCR006": _(
        "Remove the decorator and call `mlflow.models.set_model(Scaler())` after the class.",
        "model.py",
        "@mlflow.models.set_model",
        "scr006_set_model_decorator",
    ),
    "SCR007": _(
        "Fix the error at the line the message quotes. When it is raised in `load_context` or in "
        "`predict` on the example (which MLflow calls while logging), `python model.py` alone "
        "does not reproduce it: the project's tests, or `mfc-validator validate`, do.",
        "model.py",
        "    def load_context(self, context):\n"
        '        self.prices = context.model_config["price_table"]  # KeyError',
    ),
    "SCR008": _(
        "Make `predict` handle the example request: the message gives the exception and the "
        "model's line. A warning means the output cannot be turned into JSON: return a "
        "DataFrame, a list, a dict or plain values.",
        "model.py",
        "    def predict(self, context, model_input, params=None):\n"
        '        return model_input["price"] * self.factor  # no column "price"',
    ),
    "SIG001": _(
        "Make `input_example.json` one JSON object (the message gives the line and column of "
        "the error), each key once.",
        "input_example.json",
        '  "dataframe_split": {"columns": ["x"], "data": [[1.0], [2.5],]}',
        "sig001_input_not_json",
    ),
    "SIG002": _(
        "Keep exactly one of `dataframe_split`, `dataframe_records`, `instances`, `inputs` (a "
        'misspelt key gets a "did you mean"); an agent\'s request follows its kind (see the '
        "GenAI page).",
        "input_example.json",
        '{"dataframe_split": {"columns": ["x"], "data": [[1.0]]}, "inputs": [[1.0]]}',
        "sig002_two_format_keys",
    ),
    "SIG003": _(
        "Give the format the shape it takes: `dataframe_split` needs `columns` and `data` rows "
        "as long as `columns`; `dataframe_records` a list of objects; `instances` and `inputs` "
        "a list or an object of columns.",
        "input_example.json",
        '{"dataframe_split": {"columns": ["x", "z"], "data": [[1.0], [2.5]]}}',
        "sig003_wrong_shape",
    ),
    "SIG004": _(
        "Make `predict` answer the input example when MLflow logs the model (MLflow infers the "
        "signature from that answer), or give `predict` type hints MLflow can read.",
        "model.py",
        "    def predict(self, context, model_input, params=None):\n"
        '        raise RuntimeError("not ready")',
    ),
    "SIG005": _(
        "Make the example match what the model was logged with: the columns and types of the "
        "input schema (the message names the one refused), and a request MLflow's server "
        "parses.",
        "input_example.json",
        '{"dataframe_split": {"columns": ["x"], "data": [["two"]]}}',
    ),
    "SIG006": _(
        "Make `predict` return the same columns and types in the sandbox as when the model was "
        "logged; the message names the difference.",
        "model.py",
        '        return {"y": list(values)} if self.remote else pd.DataFrame({"y": values})',
    ),
    "SIG007": _(
        "Keep the inputs and outputs that clients use (add new inputs as optional), or "
        "register a breaking version on purpose with `--allow-breaking` and tell its clients.",
        "console",
        "$ mfc-validator register --allow-breaking",
    ),
    "SIG008": _(
        "Make the example an `inputs` request whose values the type hints accept, with only "
        "the fields they declare; or change the hints.",
        "input_example.json",
        '{"inputs": [{"store": "north", "units": "many"}]}',
    ),
    "DEP001": _(
        "Add the distribution the hint names, pinned, to `requirements.txt` (e.g. "
        "`scikit-learn==1.5.2`).",
        "model.py",
        "from sklearn.utils import check_array",
        "dep001_missing_requirement",
    ),
    "DEP002": _(
        "List the module's file (or its package folder) under `code_paths` in `model.yaml`.",
        "model.yaml",
        "code_paths: []",
        "dep002_local_module_not_shipped",
    ),
    "DEP003": _(
        "Add the distribution that provides the module to `requirements.txt` and install the "
        "requirements where the validator runs (`nox -s validate` does); a private package "
        "must be installable from the index the sandbox uses.",
        "model.py",
        "import mfc_fixture_private_lib",
        "dep003_unknown_import",
    ),
    "DEP004": _(
        "Add the distribution to `requirements.txt`, or drop the optional import: serving "
        "installs only what the requirements name.",
        "model.py",
        "try:\n    import orjson\nexcept ImportError:  # serving may not have it",
        "dep004_optional_import",
    ),
    "DEP005": _(
        "Write the line as `name==version`; a local path or `file:` URL does not exist where "
        "the model is served: publish the package to an index and pin it.",
        "requirements.txt",
        "scikit-learn=1.5.2",
        "dep005_invalid_requirement",
    ),
    "DEP006": _(
        "Pin the version the model was tested with: `pandas==2.2.3` (`pip freeze` shows it).",
        "requirements.txt",
        "pandas>=2.2",
        "dep006_unpinned_requirement",
    ),
    "DEP007": _(
        "Add `mlflow==<the version you log with>` to `requirements.txt`: serving loads the "
        "model with it.",
        "requirements.txt",
        "pandas==3.1.1",
        "dep007_no_mlflow_requirement",
    ),
    "DEP008": _(
        "Keep one line per distribution, with the version the model needs.",
        "requirements.txt",
        "pandas==3.1.1\n# added later\nPandas==3.1.0  # not-a-pin: the duplicate differs",
        "dep008_duplicate_requirement",
    ),
    "DEP009": _(
        "Add the distribution that provides the module, pinned, to `requirements.txt`: another "
        "requirement's dependency may drop it in any release.",
        "model.py",
        "import numpy as np  # requirements.txt names only pandas, which brings numpy",
    ),
    "DEP010": _(
        "Remove the requirement if the model does not need it (it only makes the environment "
        "larger); a flavor's library that MLflow needs to log the model is such a warning "
        "that can stay.",
        "requirements.txt",
        "mlflow==3.17.2\npandas==3.1.1\nrequests==2.32.3",
    ),
    "ENV001": _(
        "Declare the variable under `env` in `model.yaml` (with `secret: true` for a "
        "credential, `required: false` when the model has a default).",
        "model.py",
        '        self.service = os.environ["SERVICE_URL"]',
        "env001_undeclared_variable",
    ),
    "ENV002": _(
        "Remove the declaration, or read the variable; when a library reads it, `validate` "
        "sees that in the sandbox (or while MLflow logs the model) and passes it.",
        "model.yaml",
        "  - name: LEGACY_ENDPOINT\n    description: No longer read by model.py.",
        "env002_unused_declaration",
    ),
    "ENV003": _(
        "Read the variable by its literal name, or declare every name it can take under `env`; "
        "`validate` traces the names actually read in the sandbox.",
        "model.py",
        "        self.endpoint = os.environ.get(name)",
        "env003_computed_name",
    ),
    "ENV004": _(
        "Declare the variable under `env` in `model.yaml`: the message gives the file and line "
        "that read it.",
        "model.py",
        '        region = os.environ.get("AWS_REGION", "eu-west-1")  # read in predict',
    ),
    "ENV005": _(
        "Declare the variable under `env` in `model.yaml` (with `secret: true` if it is one): "
        "MLflow recorded it because the model read it while it was logged.",
        "model.py",
        '        client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])  # not declared',
    ),
    "ENV006": _(
        "Set the variable where the validation runs, or declare it `required: false` if the "
        "model works without it.",
        "model.yaml",
        "env:\n  - name: FORECAST_TOKEN\n    secret: true",
    ),
    "ENV007": _(
        "Tell the deployer to set the variable where the model is served, or name it so that "
        "MLflow records it (`*_API_KEY`, `*_API_TOKEN`).",
        "model.yaml",
        "env:\n  - name: FORECAST_TOKEN\n    secret: true",
    ),
    "ENV008": _(
        "Nothing to fix in the model: MLflow writes the file unless "
        "`MLFLOW_RECORD_ENV_VARS_IN_MODEL_LOGGING` is `false`; unset it where the validator "
        "runs to get these checks.",
        "console",
        "$ MLFLOW_RECORD_ENV_VARS_IN_MODEL_LOGGING=false mfc-validator validate",
    ),
    "ENV009": _(
        "Remove the value from the file that ships it (read it from the variable at run time "
        "instead) and rotate the secret.",
        "model.py",
        'API_KEY = "sk-live-..."  # the same value as the declared secret AGENT_API_KEY',
    ),
    "ENV010": _(
        "Remove the secret from the file and rotate it; read it from a declared `secret: true` "
        "variable. A false positive: add it to `.secrets.baseline` or end the line with "
        "`# pragma: allowlist secret`.",
        "model.py",
        'GITHUB_TOKEN = "ghp_..."',
    ),
    "ENV011": _(
        "Remove the value from the file (or `model_config`) and read the variable at run time "
        "instead; rotate the secret.",
        "model.yaml",
        "model_config:\n  endpoint: https://scoring.example.com\n  token: fixture-token-value-0042",
        "env011_secret_in_model_config",
    ),
    "NET001": _(
        "Add the host (`host` or `host:port`) to `network` in `model.yaml`, or stop the model "
        "from contacting it.",
        "model.py",
        '        self.rates = requests.get("https://rates.example.com/today").json()',
    ),
    "NET002": _(
        "Remove the host from `network`, or check that the code path that contacts it runs.",
        "model.yaml",
        "network:\n  - api.example.com:443",
    ),
    "SBX001": _(
        "Fix the requirement the installer's error names (a version that does not exist, a "
        "conflict); for an index the installer cannot reach, the fix names the certificate, "
        "proxy or index setting to change.",
        "requirements.txt",
        "mlflow==3.17.2\npandas==99.0",
    ),
    "SBX002": _(
        "Make the model load from its logged folder alone: ship local modules in `code_paths`, "
        "files in `artifacts` (read through `context.artifacts`), and declare the variables it "
        "reads.",
        "model.py",
        '        with open("prices.csv") as handle:  # relative to the working folder',
    ),
    "SBX003": _(
        "Fix the error the message quotes; it passed in-process, so look for what the sandbox "
        "lacks: a variable, a file, a package the validator's environment has.",
        "model.py",
        '        return model_input["x"] * float(os.environ["SCALE"])  # SCALE undeclared',
    ),
    "SBX004": _(
        "Make loading and predicting faster, or give a slow model more time: `timeout` in "
        "`model.yaml`, or `--timeout SECONDS`.",
        "model.yaml",
        "timeout: 600",
    ),
    "SBX005": _(
        "Pin in `requirements.txt` the versions the model was developed with (the sandbox "
        "installs the pins, the in-process answer comes from the validator's environment), and "
        "make the answer independent of the machine; values that change on every call are "
        "compared by type and shape only.",
        "requirements.txt",
        "scikit-learn==1.3.2   # the validator's environment has 1.5.2",
    ),
    "SBX006": _(
        "Install the Python version the message names (`uv python install 3.11`), or log the "
        "model with the Python you serve it with.",
        "console",
        "$ uv python install 3.11",
    ),
    "SBX007": _(
        "Make `predict_stream` yield at least one chunk of the kind its model class streams "
        "(a dict or a string for a `PythonModel`).",
        "model.py",
        "    def predict_stream(self, context, model_input, params=None):\n        yield 42",
    ),
    "SBX008": _(
        "Make the example a request `mlflow models serve` answers, and the predictions "
        "something it can turn into JSON; the message gives the status it would answer.",
        "model.py",
        "        return {day: forecast for day, forecast in zip(days, values)}  # date keys",
    ),
    "SBX009": _(
        "`SIGKILL`: give the model more memory, or load less (limit it with `--max-memory` to "
        "get a `MemoryError` with its traceback instead). `SIGSEGV`/`SIGABRT`: a native library "
        "crashed; pin a version that works.",
        "console",
        "$ mfc-validator validate --max-memory 2G",
    ),
    "EVL001": _(
        "Make `evaluation.data` a readable `.csv` or `.json` file with the `targets` column, "
        "and the model's prediction on it work; the message gives MLflow's error.",
        "model.yaml",
        "evaluation:\n  data: evaluation.csv\n  targets: units_next_7d   # not a column of it",
    ),
    "EVL002": _(
        "Improve the model, or change the threshold on purpose; a metric the evaluation did "
        "not produce needs the right `model_type`.",
        "model.yaml",
        "  thresholds:\n    r2_score: 0.95",
    ),
    "EVL003": _(
        "Improve the model, or update the baseline (or `max_regression`) when a regression is "
        "accepted.",
        "model.yaml",
        "  baseline:\n    metrics: {r2_score: 0.98}\n    max_regression: 0.05",
    ),
    "DEP011": _(
        "Save the artifact in a format that does not run code when loaded: skops for "
        "scikit-learn, safetensors for tensors, ONNX.",
        "model.yaml",
        "artifacts:\n  factor: factor.pkl",
        "dep011_pickled_artifact",
    ),
    "DEP012": _(
        "Make the hook's `additional_dependencies` list exactly the pins of `requirements.txt`.",
        ".pre-commit-config.yaml",
        "          - mlflow==3.17.2\n          - pandas==3.0.0  # not-a-pin: the drift",
        "dep012_precommit_drift",
    ),
    "DEP013": _(
        "Remove the credential from the line and give it to the installer: the index URL in "
        "`PIP_EXTRA_INDEX_URL` or `UV_EXTRA_INDEX_URL`, `pip.conf`, or a netrc file; rotate it.",
        "requirements.txt",
        "--extra-index-url https://build-bot:s3cr3t-t0ken-9f8e7d@pypi.example.com/simple",
        "dep013_credentials_in_url",
    ),
    "DEP014": _(
        "Pin a version the package index has for this Python and platform (`uv pip compile "
        "requirements.txt` shows the same error), or loosen the pins that exclude each other.",
        "requirements.txt",
        "mlflow==3.17.2\nnumpy==9.9.9",
    ),
    "DEP015": _(
        "Run `mfc-validator lock` (in a generated project `nox -s lock`) and commit "
        "`constraints.txt` and the `-c constraints.txt` line it adds to `requirements.txt`; run "
        "it again whenever the requirements change.",
        "requirements.txt",
        "mlflow==3.17.2\npandas  # and no -c constraints.txt",
    ),
    "DEP016": _(
        "Run `mfc-validator lock` (`nox -s lock`) again after changing the requirements, and "
        "commit both files.",
        "requirements.txt",
        "mlflow==3.17.2\npandas==3.1.1\nscikit-learn==1.9.1  # added after locking\n"
        "-c constraints.txt",
    ),
    "DEP017": _(
        "Write the lock anew with `mfc-validator lock` (`nox -s lock`); never edit it or copy "
        "it from another project.",
        "constraints.txt",
        "# generated by mfc-validator lock: do not edit; after changing the requirements, run "
        "it again\n# project: another-model\n# python: 3.11\n# requirements: sha256:…",
    ),
    "DEP018": _(
        "Lock with the Python that validates and serves the model (run `mfc-validator lock` "
        "from it), or run the validator with the Python the lock names.",
        "constraints.txt",
        "# generated by mfc-validator lock: do not edit; after changing the requirements, run "
        "it again\n# project: fixture-scaler\n# python: 3.9\n# requirements: sha256:…",
    ),
    "DEP019": _(
        "Keep `pyproject.toml` (with its `[project] dependencies`, mlflow among them) and "
        "`uv.lock` together in the project's folder and run `uv lock` after every change; a "
        "`uv.lock` alone is ignored by MLflow: add its `pyproject.toml` or delete it. In a uv "
        "project requirements.txt is not used: delete it.",
        "uv.lock",
        'version = 1\nrevision = 3\nrequires-python = ">=3.10"',
        "dep019_lock_without_pyproject",
    ),
    "REG001": _(
        "Run `mfc-validator validate` on this content first and fix what fails (with "
        "`--require-validated` nothing is validated for you); any change to the content needs "
        "a new validation.",
        "console",
        "$ mfc-validator register --require-validated",
    ),
    "REG002": _(
        "Check that the tracking server has a Model Registry and that you may write to it; the "
        "message gives the server's answer.",
        "console",
        "$ mfc-validator register --tracking-uri http://mlflow.example.com:5000  # no write access",
    ),
    "REG003": _(
        'Name in `registry.datagrok` only columns the signature has (a close name gets a "did '
        'you mean"), and as many `outputs` as the output schema has.',
        "model.yaml",
        "registry:\n  datagrok:\n    semtypes: {smiles: Molecule, activty: pIC50}",
    ),
    "REG004": _(
        "Check the tracking server (its logs, its disk, its artifact store) and validate "
        "again; the next `validate` marks the run left open `KILLED`. Raise "
        "`MLFLOW_HTTP_REQUEST_TIMEOUT` for a slow server.",
        "console",
        "$ MLFLOW_HTTP_REQUEST_TIMEOUT=300 mfc-validator validate --tracking-uri http://mlflow:5000",
    ),
}
del _
