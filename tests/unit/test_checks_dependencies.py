from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest

from tests.pins import MLFLOW, NUMPY, PANDAS
from validator.checks import dependencies, lock, modules
from validator.codes import owned_by
from validator.project import config
from validator.project.sources import Project
from validator.report import Finding

GOOD_REQUIREMENTS = f"{MLFLOW}\n{PANDAS}\n"


def check(
    tmp_path: Path,
    script: str = "import mlflow\n",
    requirements: str | None = GOOD_REQUIREMENTS,
    model_yaml: str = "",
    files: dict[str, str] | None = None,
) -> list[Finding]:
    (tmp_path / "model.yaml").write_text(model_yaml)
    if script is not None:
        (tmp_path / "model.py").write_text(textwrap.dedent(script))
    if requirements is not None:
        (tmp_path / "requirements.txt").write_text(textwrap.dedent(requirements))
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    # what the import and requirement checks found: each code that found nothing is reported
    # passed; DEP012 (the pre-commit hook) and the lock's codes (test_lock_check.py) have their
    # own tests
    found = dependencies.run(Project(config.load(tmp_path)))
    return [f for f in found if f.status != "passed" and f.code not in ("DEP012", *lock.CODES)]


def codes(findings: list[Finding], status: str | None = None) -> list[str]:
    return [f.code for f in findings if status is None or f.status == status]


def only(findings: list[Finding], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, findings
    return matching[0]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake site-packages folder first on sys.path, for installed metadata."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.setattr(sys, "path", [str(folder), *sys.path])
    return folder


def install(site: Path, name: str, version: str, files: list[str], top_level: str | None) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n")
    (info / "RECORD").write_text("".join(f"{path},,\n" for path in files))
    if top_level is not None:
        (info / "top_level.txt").write_text(top_level)


# -- imports ------------------------------------------------------------------------------------


def test_good_project_has_no_findings(tmp_path: Path) -> None:
    script = """\
        from __future__ import annotations
        import os, sys, json
        from collections import OrderedDict
        import mlflow
        from mlflow.models import set_model
        import pandas as pd
        """
    assert check(tmp_path, script) == []


def test_collects_imports_everywhere_but_type_checking_blocks() -> None:
    tree = ast.parse(
        textwrap.dedent(
            """\
            import a.b, c
            from d.e import f, g as h
            from . import sibling
            from k import *
            from typing import TYPE_CHECKING
            if TYPE_CHECKING:
                import hidden
            else:
                import shown
            def predict():
                import inside
            try:
                import optional
            except (ValueError, ModuleNotFoundError):
                import fallback
            """
        )
    )
    found = [(i.name, i.line, i.guarded) for i in dependencies.imports(tree)]
    assert found == [
        ("a.b", 1, False),
        ("c", 1, False),
        ("d.e.f", 2, False),
        ("d.e.g", 2, False),
        ("k", 4, False),
        ("typing.TYPE_CHECKING", 5, False),
        ("shown", 9, False),
        ("inside", 11, False),
        ("optional", 13, True),
        ("fallback", 15, False),
    ]


def test_third_party_import_without_requirement_fails_naming_the_distribution(
    tmp_path: Path, site: Path
) -> None:
    install(site, "scikit-learn", "1.9.1", ["sklearn/__init__.py"], "sklearn")
    findings = check(tmp_path, "import mlflow\n\nfrom sklearn.linear_model import Ridge\n")
    finding = only(findings, "DEP001")
    assert finding.status == "failed"
    assert finding.message == "model.py imports 'sklearn' but no requirement provides it"
    assert finding.location == "model.py:3"
    assert finding.hint == "add scikit-learn==1.9.1 to requirements.txt"


def test_table_maps_a_module_that_is_not_installed(tmp_path: Path, site: Path) -> None:
    finding = only(check(tmp_path, "import mlflow\nimport skimage.io\n"), "DEP001")
    assert finding.hint == "add scikit-image to requirements.txt, pinned with =="
    finding = only(check(tmp_path, "import mlflow\nimport cv2\n"), "DEP001")
    assert finding.hint is not None
    assert finding.hint.startswith("add opencv-python to requirements.txt")
    assert "opencv-python-headless" in finding.hint


@pytest.mark.parametrize(
    ("statement", "requirement"),
    [
        ("import sklearn", "scikit-learn==1.5.2"),  # not-a-pin
        ("import cv2", "opencv-python-headless==4.10.0.84"),
        ("import yaml", "pyyaml==6.0.2"),
        ("from PIL import Image", "Pillow==11.0.0"),
        ("from google.protobuf import message", "protobuf==5.28.0"),
        ("from google.cloud import storage", "google-cloud-storage==2.18.0"),
        ("import typing_extensions", "typing_extensions==4.12.2"),
        ("import dateutil.parser", "python-dateutil==2.9.0"),
        ("import mlflow.pyfunc", "mlflow-skinny==3.17.2"),
        ("import numpy", "numpy[extra]==2.1.0 ; python_version < '3.0'"),
    ],
)
def test_requirement_provides_its_module(tmp_path: Path, statement: str, requirement: str) -> None:
    findings = check(tmp_path, f"{statement}\n", f"{MLFLOW}\n{requirement}\n")
    assert codes(findings) == []


def test_installed_metadata_maps_a_module_to_its_requirement(tmp_path: Path, site: Path) -> None:
    install(site, "fancy-sdk", "2.0", ["fancy_core/__init__.py", "fancy_core/x.py"], None)
    assert check(tmp_path, "import fancy_core.x\n", f"{MLFLOW}\nfancy-sdk==2.0\n") == []
    finding = only(check(tmp_path, "import fancy_core\n", f"{MLFLOW}\n"), "DEP001")
    assert finding.hint == "add fancy-sdk==2.0 to requirements.txt"


def test_namespace_packages_are_told_apart_by_their_deepest_module(site: Path) -> None:
    install(site, "protobuf", "5.0", ["google/protobuf/__init__.py"], "google")
    install(site, "google-api-core", "2.0", ["google/api_core/__init__.py"], "google")
    assert [d.key for d in modules.providers("google.protobuf.message")] == ["protobuf"]
    assert modules.shown_name(
        "google.protobuf.message", modules.providers("google.protobuf")[0]
    ) == ("google.protobuf")


PKGUTIL_NAMESPACE = '__path__ = __import__("pkgutil").extend_path(__path__, __name__)\n'


@pytest.fixture
def outer_site(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Like site, outside the project: its packages are no local modules of it."""
    folder = tmp_path_factory.mktemp("site")
    monkeypatch.setattr(sys, "path", [str(folder), *sys.path])
    return folder


def install_databricks_sdk(site: Path) -> None:
    """databricks-sdk as mlflow brings it: databricks/ is a pkgutil namespace others extend."""
    files = ["databricks/__init__.py", "databricks/sdk/__init__.py"]
    install(site, "databricks-sdk", "0.167.0", files, "databricks")
    (site / "databricks" / "sdk").mkdir(parents=True)
    (site / "databricks" / "__init__.py").write_text(PKGUTIL_NAMESPACE)


def test_a_requirement_not_installed_here_is_not_blamed_on_a_namespace_neighbour(
    tmp_path: Path, outer_site: Path
) -> None:
    # databricks-vectorsearch (listed, not installed here) adds databricks.vector_search to the
    # namespace that the installed databricks-sdk owns: it was "no requirement provides it: add
    # databricks-sdk==0.167.0"
    install_databricks_sdk(outer_site)
    script = "import mlflow\nfrom databricks.vector_search.client import VectorSearchClient\n"
    requirements = f"{MLFLOW}\ndatabricks-vectorsearch==0.57\n"
    finding = only(check(tmp_path, script, requirements), "DEP003")
    assert finding.status == "warning"
    assert finding.location == "model.py:2"
    assert finding.message == (
        "model.py imports 'databricks.vector_search', which is not installed here; "
        "requirements.txt lists databricks-vectorsearch, not installed here either, so the "
        "validator cannot tell whether one of them provides it"
    )
    assert finding.hint is not None
    assert "`nox -s validate`" in finding.hint and "databricks-sdk" not in finding.hint


def test_a_namespace_neighbour_still_provides_its_own_modules(
    tmp_path: Path, outer_site: Path
) -> None:
    install_databricks_sdk(outer_site)
    script = "import mlflow\nfrom databricks.sdk import WorkspaceClient\n"
    assert check(tmp_path, script, f"{MLFLOW}\ndatabricks-sdk==0.167.0\n") == []
    finding = only(check(tmp_path, script, f"{MLFLOW}\n"), "DEP001")
    assert finding.hint == "add databricks-sdk==0.167.0 to requirements.txt"


def test_an_import_past_a_namespace_nothing_here_provides_is_unknown(
    tmp_path: Path, outer_site: Path
) -> None:
    install_databricks_sdk(outer_site)
    script = "import mlflow\nimport databricks.vector_search\n"
    finding = only(check(tmp_path, script, f"{MLFLOW}\n"), "DEP003")
    assert "'databricks.vector_search', which is not installed here, not local" in finding.message


def test_a_pep_420_namespace_provides_only_its_own_modules(site: Path) -> None:
    install(site, "protobuf", "5.0", ["google/protobuf/__init__.py"], "google")
    assert modules.providers("google.cloud.storage") == []
    assert [d.key for d in modules.providers("google.protobuf.message")] == ["protobuf"]


def test_the_table_still_names_the_distribution_when_requirements_are_not_installed(
    tmp_path: Path, site: Path
) -> None:
    script = "import mlflow\nimport skimage.io\n"
    finding = only(check(tmp_path, script, f"{MLFLOW}\nmfc-not-here==1.0\n"), "DEP001")
    assert finding.hint == "add scikit-image to requirements.txt, pinned with =="


def test_a_direct_import_needs_its_own_requirement_even_when_mlflow_brings_it(
    tmp_path: Path,
) -> None:
    finding = only(check(tmp_path, "import mlflow\nimport numpy as np\n"), "DEP001")
    assert finding.hint is not None
    assert "numpy" in finding.hint


def test_unknown_import_is_a_warning(tmp_path: Path) -> None:
    finding = only(check(tmp_path, "import mlflow\nimport mfc_no_such_module\n"), "DEP003")
    assert finding.status == "warning"
    assert finding.location == "model.py:2"
    assert "mfc_no_such_module" in finding.message


@pytest.mark.parametrize("caught", ["ImportError", "ModuleNotFoundError", "(ImportError, OSError)"])
def test_optional_import_is_a_warning_not_a_failure(tmp_path: Path, caught: str) -> None:
    script = f"""\
        import mlflow
        try:
            import sklearn
        except {caught}:
            sklearn = None
        """
    findings = check(tmp_path, script)
    assert codes(findings) == ["DEP004"]
    assert only(findings, "DEP004").status == "warning"
    assert only(findings, "DEP004").location == "model.py:3"


def test_optional_import_provided_by_a_requirement_is_fine(tmp_path: Path) -> None:
    script = "try:\n    import orjson as json\nexcept ImportError:\n    import json\n"
    assert check(tmp_path, script, GOOD_REQUIREMENTS + "orjson==3.10.0\n") == []


def test_local_module_beside_the_script_must_be_shipped(tmp_path: Path) -> None:
    findings = check(tmp_path, "import mlflow\nimport helpers\n", files={"helpers.py": "X = 1\n"})
    finding = only(findings, "DEP002")
    assert finding.status == "failed"
    assert finding.location == "model.py:2"
    assert "helpers.py" in finding.message
    assert finding.hint == "add 'helpers.py' to code_paths in model.yaml"


def test_local_module_shadows_a_requirement_of_the_same_name(tmp_path: Path) -> None:
    findings = check(tmp_path, "import pandas\n", files={"pandas/__init__.py": ""})
    assert codes(findings) == ["DEP002"]


@pytest.mark.parametrize(
    ("code_paths", "files", "statement"),
    [
        ('["helpers.py"]', {"helpers.py": ""}, "import helpers"),
        ('["lib/helpers.py"]', {"lib/helpers.py": ""}, "import helpers"),
        (
            '["features"]',
            {"features/__init__.py": "", "features/a.py": ""},
            "from features import a",
        ),
        ('["features/"]', {"features/a.py": ""}, "import features.a"),
        ('["src"]', {"src/helpers.py": ""}, "from src import helpers"),
    ],
)
def test_code_paths_entries_are_importable_by_their_basename(
    tmp_path: Path, code_paths: str, files: dict[str, str], statement: str
) -> None:
    findings = check(
        tmp_path, f"{statement}\n", model_yaml=f"code_paths: {code_paths}\n", files=files
    )
    assert codes(findings) == []


def test_module_inside_a_code_paths_folder_is_not_importable_by_its_own_name(
    tmp_path: Path,
) -> None:
    findings = check(
        tmp_path, "import helpers\n", model_yaml="code_paths: [src]\n", files={"src/helpers.py": ""}
    )
    hint = only(findings, "DEP002").hint
    assert hint is not None
    assert "import src.helpers" in hint
    assert "'src/helpers.py'" in hint


def test_local_module_elsewhere_in_the_project_names_its_path(tmp_path: Path) -> None:
    files = {"lib/util.py": "", ".venv/lib/other.py": "", "__pycache__/cached.py": ""}
    findings = check(tmp_path, "import util\nimport other\nimport cached\n", files=files)
    finding = only(findings, "DEP002")
    assert finding.hint == "add 'lib/util.py' to code_paths in model.yaml"
    assert codes(findings) == ["DEP002", "DEP003", "DEP003"]


def test_local_package_folder(tmp_path: Path) -> None:
    findings = check(tmp_path, "from features import build\n", files={"features/__init__.py": ""})
    assert only(findings, "DEP002").hint == "add 'features' to code_paths in model.yaml"


def test_folder_without_python_files_is_not_a_module(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("a\n1\n")
    assert codes(check(tmp_path, "import data\n")) == ["DEP003"]


def test_imports_of_code_paths_files_are_checked(tmp_path: Path) -> None:
    files = {"lib/helpers.py": "import json\nfrom . import sibling\n\nimport sklearn\n"}
    findings = check(
        tmp_path, "import helpers\n", model_yaml="code_paths: [lib/helpers.py]\n", files=files
    )
    assert only(findings, "DEP001").location == "lib/helpers.py:4"


def test_each_module_is_reported_once_per_file(tmp_path: Path) -> None:
    script = "import sklearn\nfrom sklearn import svm\nimport sklearn.linear_model\n"
    assert codes(check(tmp_path, script)) == ["DEP001"]


def test_import_checks_are_skipped_without_a_script(tmp_path: Path) -> None:
    findings = check(tmp_path, script=None, model_yaml="")  # type: ignore[arg-type]
    assert codes(findings, "skipped") == ["DEP001", "DEP002", "DEP003", "DEP004"]
    assert codes(findings, "failed") == []


def test_import_checks_are_skipped_when_the_script_does_not_parse(tmp_path: Path) -> None:
    findings = check(tmp_path, "import sklearn\ndef (:\n")
    assert codes(findings, "skipped") == ["DEP001", "DEP002", "DEP003", "DEP004"]


def test_without_requirements_only_local_modules_are_judged(tmp_path: Path) -> None:
    findings = check(
        tmp_path, "import sklearn\nimport helpers\n", requirements=None, files={"helpers.py": ""}
    )
    assert codes(findings, "failed") == ["DEP002"]
    assert set(codes(findings, "skipped")) == set(owned_by("dependencies")) - {
        "DEP002",
        "DEP012",
        "DEP019",  # a uv.lock without pyproject.toml is judged without requirements too
        *lock.CODES,
    }


# -- requirements -------------------------------------------------------------------------------


def test_comments_blank_lines_hashes_and_continuations_are_understood(tmp_path: Path) -> None:
    requirements = f"""\
        # the model's runtime requirements

        {MLFLOW}  # the serving runtime
        {PANDAS} \\
            --hash=sha256:0000 \\
            --hash=sha256:1111
        numpy===2.1.0  # not-a-pin
        scikit-learn==1.5.2; python_version >= "3.10"  # not-a-pin
        wheel-dist @ https://example.com/wheel_dist-1.0-py3-none-any.whl
        """
    assert check(tmp_path, requirements=requirements) == []


@pytest.mark.parametrize(
    "line", ["pandas", "pandas>=2", "pandas~=3.1", "pandas==3.*", "pandas @ git+https://x/y.git"]
)
def test_unpinned_requirement_is_a_warning(tmp_path: Path, line: str) -> None:
    findings = check(tmp_path, requirements=f"{MLFLOW}\n{line}\n")
    finding = only(findings, "DEP006")
    assert finding.status == "warning"
    assert finding.location == "requirements.txt:2"
    assert finding.hint is not None
    assert finding.hint.startswith("pin it: pandas==")


@pytest.mark.parametrize(
    ("line", "status"),
    [
        ("pandas=3.1.1", "failed"),
        ("pandas==", "failed"),
        ("./local/package", "failed"),
        ("-e .", "failed"),
        ("--editable ./pkg", "failed"),
        ("--no-deps", "failed"),
        (f"{PANDAS} --no-deps", "failed"),
        ("-r missing.txt", "failed"),
        ("-c missing.txt", "failed"),
        ("-r " + "a" * 300 + ".txt", "failed"),  # a name too long for the file system
        ("--index-url https://pypi.example.com/simple", "warning"),
        ("--extra-index-url=https://pypi.example.com/simple", "warning"),
        ("-f ./wheels", "warning"),
    ],
)
def test_invalid_lines_and_options(tmp_path: Path, line: str, status: str) -> None:
    findings = check(tmp_path, "import mlflow\n", f"{MLFLOW}\n{line}\n")
    finding = only(findings, "DEP005")
    assert (finding.status, finding.location) == (status, "requirements.txt:2")
    assert line in finding.message
    assert finding.hint


@pytest.mark.parametrize(
    "line",
    [
        "wheel-dist @ file:///home/me/dist/wheel_dist-1.0-py3-none-any.whl",
        "wheel-dist @ FILE:///home/me/dist/wheel_dist-1.0-py3-none-any.whl",
        "wheel-dist @ /home/me/dist/wheel_dist-1.0-py3-none-any.whl",
        "wheel-dist @ ./dist/wheel_dist-1.0-py3-none-any.whl",
    ],
)
def test_a_local_file_after_the_name_fails(tmp_path: Path, line: str) -> None:
    findings = check(tmp_path, requirements=f"{MLFLOW}\n{line}\n")
    finding = only(findings, "DEP005")
    assert (finding.status, finding.location) == ("failed", "requirements.txt:2")
    assert f"'{line}', a file on this machine" in finding.message
    assert finding.hint is not None
    assert "code_paths" in finding.hint


TOKEN = "s3cr3t-t0ken-9f8e7d"
CREDENTIALS = [
    (f"--extra-index-url https://bot:{TOKEN}@pypi.example.com/simple", "https://***@pypi"),
    (f"--extra-index-url=https://bot:{TOKEN}@pypi.example.com/simple", "https://***@pypi"),
    (f"-i https://bot:{TOKEN}@pypi.example.com/simple", "-i https://***@pypi"),
    (f"--index-url https://{TOKEN}@pypi.example.com/simple", "https://***@pypi"),
    (f"-f https://bot:{TOKEN}@files.example.com/wheels", "-f https://***@files"),
    (f"--find-links https://bot:{TOKEN}@files.example.com/", "https://***@files"),
    (f"private @ git+https://oauth2:{TOKEN}@gitlab.example.com/o/r.git@v1.0", "git+https://***@"),
    (f"private @ git+https://{TOKEN}@github.com/o/r.git@{'a' * 40}", "git+https://***@github"),
    (f"private @ https://bot:{TOKEN}@files.example.com/private-1.0-py3-none-any.whl", "***@"),
    # an option after a requirement (DEP005 quotes it too), as the fuzz test found
    (f"{NUMPY} --extra-index-url https://bot:{TOKEN}@pypi.example.com/simple", "***@pypi"),
    (f"-i {MLFLOW}https://{TOKEN}@pypi.example.com/simple", "2https://***@pypi"),
    (f"-i https://bot:{TOKEN}@x@pypi.example.com/simple", "https://***@pypi"),  # '@' unencoded
]


@pytest.mark.parametrize(("line", "shown"), CREDENTIALS)
def test_a_credential_in_a_url_fails_and_is_never_shown(
    tmp_path: Path, line: str, shown: str
) -> None:
    findings = check(tmp_path, requirements=f"{MLFLOW}\n{line}\n")
    finding = only(findings, "DEP013")
    assert (finding.status, finding.location) == ("failed", "requirements.txt:2")
    assert shown in finding.message
    assert finding.hint is not None
    assert "PIP_INDEX_URL" in finding.hint
    assert ".netrc" in finding.hint
    assert TOKEN not in repr(findings)


@pytest.mark.parametrize(
    "line",
    [
        "private @ git+ssh://git@github.com/o/r.git@v1.0",
        "private @ git+https://github.com/o/r.git@v1.0",
        "--extra-index-url https://pypi.example.com/simple",
        "private @ https://files.example.com/private-1.0-py3-none-any.whl#sha256=ab@cd",
    ],
)
def test_a_url_without_a_credential_passes_dep013(tmp_path: Path, line: str) -> None:
    findings = check(tmp_path, requirements=f"{MLFLOW}\n{line}\n")
    assert "DEP013" not in codes(findings)


def test_included_files_are_followed(tmp_path: Path) -> None:
    files = {"base.txt": "-r requirements.txt\npandas>=2\n", "constraints.txt": "pandas<4\n"}
    findings = check(
        tmp_path,
        "import mlflow\nimport pandas\n",
        f"-r base.txt\n--constraint constraints.txt\n{MLFLOW}\n",
        files=files,
    )
    assert codes(findings) == ["DEP006"]
    assert only(findings, "DEP006").location == "base.txt:2"


def test_mlflow_must_be_a_requirement(tmp_path: Path) -> None:
    finding = only(check(tmp_path, "import pandas\n", f"{PANDAS}\n"), "DEP007")
    assert (finding.status, finding.location) == ("failed", "requirements.txt")
    assert finding.hint is not None
    assert finding.hint.startswith("add mlflow==")
    assert check(tmp_path, "import pandas\n", f"{PANDAS}\nmlflow-skinny==3.17.2\n") == []


def test_a_distribution_listed_twice_fails_naming_both_lines(tmp_path: Path) -> None:
    findings = check(tmp_path, "import yaml\n", f"{MLFLOW}\nPyYAML==6.0.2\n\npyyaml==6.0.1\n")
    finding = only(findings, "DEP008")
    assert finding.location == "requirements.txt:4"
    assert "requirements.txt:2" in finding.message
    assert "requirements.txt:4" in finding.message


def test_lines_with_different_markers_are_not_duplicates(tmp_path: Path) -> None:
    requirements = (
        f"{MLFLOW}\n"
        "numpy==1.26.4; python_version < '3.12'\n"  # not-a-pin
        "numpy==2.1.0; python_version >= '3.12'\n"  # not-a-pin
    )
    assert check(tmp_path, "import numpy\n", requirements) == []


def test_requirement_checks_run_without_a_script(tmp_path: Path) -> None:
    findings = check(tmp_path, None, "pandas\n")  # type: ignore[arg-type]
    assert codes(findings, "failed") == ["DEP007"]
    assert codes(findings, "warning") == ["DEP006"]


# -- the module table and metadata --------------------------------------------------------------


def test_normalize_follows_pep_503() -> None:
    assert modules.normalize("Friendly.Bard__Ext") == "friendly-bard-ext"
    assert modules.normalize("google.cloud.storage") == "google-cloud-storage"


def test_record_paths_become_module_names() -> None:
    assert modules._record_modules("a/b/c.py") == ["a", "a.b", "a.b.c"]
    assert modules._record_modules("a/__init__.py") == ["a"]
    assert modules._record_modules("fast.cpython-311-x86_64-linux-gnu.so") == ["fast"]
    assert modules._record_modules("a-1.0.dist-info/RECORD") == []
    assert modules._record_modules("../../bin/tool") == []
    assert modules._record_modules("a/data.json") == []


def test_installed_scan_reads_versions_and_names(site: Path) -> None:
    install(site, "PyYAML-Fake", "6.0.2", ["yaml_fake/__init__.py"], "yaml_fake\n")
    dist = modules.installed()["pyyaml-fake"]
    assert (dist.name, dist.version, dist.top_level) == ("PyYAML-Fake", "6.0.2", {"yaml_fake"})
