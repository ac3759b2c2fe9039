"""Which distribution provides an import: a curated table, and installed metadata read lazily.

The metadata is read straight from the ``*.dist-info`` / ``*.egg-info`` folders on ``sys.path``
(``top_level.txt``, else ``RECORD``), and only when the table and the requirement names cannot
answer: ``importlib.metadata.packages_distributions()`` parses every distribution's RECORD and
costs about as much as the whole ``check`` command.
"""

from __future__ import annotations

import os
import sys
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from validator.project.requirements import normalize

if TYPE_CHECKING:
    from collections.abc import Iterable


# Import name -> the distributions that provide it, the usual one first. Only imports whose
# distribution is named differently, plus well-known libraries, so that a missing requirement is
# recognised even where the library is not installed (in pre-commit's own environment, say).
_MISMATCHED: dict[str, tuple[str, ...]] = {
    "Bio": ("biopython",),
    "Crypto": ("pycryptodome", "pycrypto"),
    "Cryptodome": ("pycryptodomex",),
    "Levenshtein": ("Levenshtein", "python-Levenshtein"),
    "MySQLdb": ("mysqlclient",),
    "OpenSSL": ("pyOpenSSL",),
    "PIL": ("Pillow",),
    "Xlib": ("python-xlib",),
    "attr": ("attrs",),
    "bs4": ("beautifulsoup4",),
    "community": ("python-louvain",),
    "cv2": (
        "opencv-python",
        "opencv-python-headless",
        "opencv-contrib-python",
        "opencv-contrib-python-headless",
    ),
    "dateutil": ("python-dateutil",),
    "docx": ("python-docx",),
    "dotenv": ("python-dotenv",),
    "faiss": ("faiss-cpu", "faiss-gpu"),
    "fitz": ("PyMuPDF",),
    "git": ("GitPython",),
    "google.protobuf": ("protobuf",),
    "googleapiclient": ("google-api-python-client",),
    "grpc": ("grpcio",),
    "jose": ("python-jose",),
    "jwt": ("PyJWT",),
    "kafka": ("kafka-python",),
    "magic": ("python-magic",),
    "mlflow": ("mlflow", "mlflow-skinny"),
    "mpl_toolkits": ("matplotlib",),
    "multipart": ("python-multipart",),
    "nacl": ("PyNaCl",),
    "pkg_resources": ("setuptools",),
    "pptx": ("python-pptx",),
    "psycopg2": ("psycopg2", "psycopg2-binary"),
    "pythonjsonlogger": ("python-json-logger",),
    "serial": ("pyserial",),
    "skimage": ("scikit-image",),
    "sklearn": ("scikit-learn",),
    "slugify": ("python-slugify",),
    "snowflake.connector": ("snowflake-connector-python",),
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-macos"),
    "umap": ("umap-learn",),
    "usb": ("pyusb",),
    "yaml": ("PyYAML",),
    "zmq": ("pyzmq",),
}
_SAME_NAME = (
    "anthropic", "boto3", "catboost", "click", "cloudpickle", "datasets", "fastapi", "flask",
    "h5py", "httpx", "jinja2", "joblib", "keras", "langchain", "lightgbm", "lxml", "matplotlib",
    "networkx", "nltk", "numba", "numpy", "onnx", "onnxruntime", "openai", "optuna", "pandas",
    "plotly", "polars", "prophet", "pyarrow", "pydantic", "pyspark", "requests", "scipy",
    "seaborn", "shap", "spacy", "sqlalchemy", "statsmodels", "sympy", "tiktoken", "tokenizers",
    "torch", "torchvision", "tqdm", "transformers", "xgboost",
)  # fmt: skip
KNOWN: dict[str, tuple[str, ...]] = {name: (name,) for name in _SAME_NAME} | _MISMATCHED


def prefixes(dotted: str) -> list[str]:
    """'a.b.c' -> ['a.b.c', 'a.b', 'a']: the longest first."""
    parts = dotted.split(".")
    return [".".join(parts[:end]) for end in range(len(parts), 0, -1)]


def known(dotted: str) -> tuple[str, tuple[str, ...]] | None:
    """(the matched import name, its distributions) from the curated table."""
    for prefix in prefixes(dotted):
        if prefix in KNOWN:
            return prefix, KNOWN[prefix]
    return None


class Installed:
    def __init__(self, key: str, version: str, path: Path) -> None:
        self.key = key  # normalized name
        self.version = version
        self.path = path

    @property
    def name(self) -> str:
        """The distribution's own spelling (PyYAML, not pyyaml), from its METADATA."""
        for metadata in ("METADATA", "PKG-INFO"):
            try:
                with (self.path / metadata).open(encoding="utf-8", errors="replace") as lines:
                    for line in lines:
                        if line.startswith("Name:"):
                            return line[len("Name:") :].strip()
                        if not line.strip():
                            break
            except OSError:
                continue
        return self.key

    def _read(self, name: str) -> str:
        try:
            return (self.path / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    @cached_property
    def top_level(self) -> set[str]:
        listed = self._read("top_level.txt").split()
        return set(listed) if listed else {module.split(".")[0] for module in self.modules}

    @cached_property
    def files(self) -> set[str]:
        """The paths its RECORD lists, relative to the folder it is installed in."""
        return {line.split(",")[0] for line in self._read("RECORD").splitlines()}

    @cached_property
    def modules(self) -> set[str]:
        """Every dotted module or package its RECORD installs (a.b for a/b.py or a/b/)."""
        found: set[str] = set()
        for path in self.files:
            found.update(_record_modules(path))
        return found

    def is_namespace(self, package: str) -> bool:
        """Whether PACKAGE, which it installs, is a namespace that other distributions extend:
        no __init__.py (PEP 420), or one that extends its __path__ (pkgutil, pkg_resources)."""
        init = package.replace(".", "/") + "/__init__.py"
        if init not in self.files:
            return True
        try:
            text = (self.path.parent / init).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
        return "extend_path" in text or "declare_namespace" in text


def _record_modules(path: str) -> list[str]:
    parts = path.split("/")
    if parts[0] in ("..", "") or any(
        part.endswith((".dist-info", ".egg-info", ".data")) for part in parts
    ):
        return []
    head, leaf = parts[:-1], parts[-1]
    stem, dot, suffix = leaf.partition(".")
    if not dot or suffix.split(".")[-1] not in ("py", "so", "pyd"):
        return []
    if any(not part.isidentifier() for part in head):
        return []
    names = head if stem == "__init__" else [*head, stem]
    return [".".join(names[:end]) for end in range(1, len(names) + 1)]


def _folder_key(folder: str) -> tuple[str, str] | None:
    """('numpy', '2.4.6') from numpy-2.4.6.dist-info; wheel names never contain '-'."""
    stem, dot, suffix = folder.rpartition(".")
    if not dot or suffix not in ("dist-info", "egg-info"):
        return None
    name, _, version = stem.partition("-")
    return normalize(name), version.split("-")[0]


def installed() -> dict[str, Installed]:
    """Every distribution on sys.path, by normalized name; the first found wins, as for pip."""
    return _installed(tuple(sys.path))


@cache
def _installed(search_path: tuple[str, ...]) -> dict[str, Installed]:
    found: dict[str, Installed] = {}
    for entry in search_path:
        try:
            with os.scandir(entry or ".") as folder:
                names = sorted(item.name for item in folder if item.is_dir())
        except OSError:
            continue
        for name in names:
            key = _folder_key(name)
            if key and key[0] not in found:
                found[key[0]] = Installed(key[0], key[1], Path(entry or ".") / name)
    return found


def namespace_only(dotted: str, dist: Installed) -> str | None:
    """The namespace package of DOTTED that DIST installs, when that is all it installs of it:
    databricks-sdk installs databricks/ and databricks/sdk/, not databricks.vector_search,
    which another distribution (not installed here) adds to the same namespace."""
    deepest = next((name for name in prefixes(dotted) if name in dist.modules), None)
    if deepest is None or deepest == dotted or not dist.is_namespace(deepest):
        return None
    return deepest


def providers(dotted: str) -> list[Installed]:
    """The installed distributions that provide the import, most specific first.

    Several distributions can share a namespace package (google.protobuf and google.cloud.*
    both install under google/), so those are told apart by the deepest module they install;
    one that installs only the namespace does not provide what others add to it.
    """
    top = dotted.split(".")[0]
    candidates = [
        dist
        for dist in installed().values()
        if top in dist.top_level and namespace_only(dotted, dist) is None
    ]
    if len(candidates) <= 1 or "." not in dotted:
        return candidates
    wanted = prefixes(dotted)

    def depth(dist: Installed) -> int:
        return next((len(wanted) - i for i, name in enumerate(wanted) if name in dist.modules), 0)

    best = max(depth(dist) for dist in candidates)
    return [dist for dist in candidates if depth(dist) == best]


def provider(dotted: str) -> Installed | None:
    """The installed distribution that provides DOTTED itself, not one that only shares its
    namespace package: llama-index-core does not provide llama_index.embeddings.openai."""
    found = providers(dotted)
    return found[0] if found else None


def provided_by(dotted: str, requirements: Iterable[str]) -> bool:
    """Whether one of the (normalized) requirement names provides the import."""
    names = set(requirements)
    if any(normalize(prefix) in names for prefix in prefixes(dotted)):
        return True
    entry = known(dotted)
    return entry is not None and any(normalize(dist) in names for dist in entry[1])


def missing_name(dotted: str) -> str:
    """The import as the user knows it when nothing installed here provides it: its top level,
    or one level past a namespace package that an installed distribution shares."""
    parts = dotted.split(".")
    for dist in installed().values():
        namespace = namespace_only(dotted, dist) if parts[0] in dist.top_level else None
        if namespace is not None:
            return ".".join(parts[: namespace.count(".") + 2])
    return parts[0]


def shown_name(dotted: str, dist: Installed) -> str:
    """The import as the user knows it: its top level, unless other distributions share it."""
    top = dotted.split(".")[0]
    shared = [d for d in installed().values() if d is not dist and top in d.top_level]
    if shared:
        for prefix in reversed(prefixes(dotted)):
            if prefix in dist.modules and not any(prefix in d.modules for d in shared):
                return prefix
    return top
