"""Locate, hash and translate ``model/transfer.mdl``; expose its catalogue (from the facts).

PySD writes the translated ``.py`` beside the ``.mdl``. To keep the source tree
clean, the model file is copied into a cache directory keyed by the file's hash
and the PySD version, translated there once, and reopened with ``pysd.load``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from importlib.resources import files
from pathlib import Path

import pandas as pd

from transfer_sim.errors import ModelError
from transfer_sim.io.atomic import atomic_write_text
from transfer_sim.io.versions import package_version

__all__ = [
    "bundled_path",
    "default_model_path",
    "model_file",
    "default_scenarios_dir",
    "model_hash",
    "cache_dir",
    "write_cache_file",
    "translated_model_path",
    "load_pysd",
    "catalogue",
    "SECTORS",
    "YEARS",
]

#: The seven non-resource sectors of the document (subscript ``Sector``).
SECTORS: tuple[str, ...] = (
    "chemicals",
    "metallurgy",
    "building_materials",
    "equipment",
    "agrifood",
    "textiles",
    "emerging",
)
#: Calendar years of the ``Year`` subscript used by schedulable levers.
YEARS: tuple[int, ...] = tuple(range(2005, 2021))

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
_REPO_ROOT = _PACKAGE_DIR.parents[1]


def bundled_path(*parts: str) -> Path:
    """Return a file or folder the package ships: the model, scenarios, data.

    A wheel carries them inside the package (``transfer_sim/_data/...``, read through
    :mod:`importlib.resources`); a checkout (an editable install) has them at the top
    of the repository.

    Examples
    --------
    >>> bundled_path("model", "transfer.mdl").name
    'transfer.mdl'
    """
    shipped = files("transfer_sim").joinpath("_data", *parts)
    if shipped.is_file() or shipped.is_dir():
        return Path(str(shipped))
    return _REPO_ROOT.joinpath(*parts)


def default_model_path() -> Path:
    """Return the bundled model file.

    Returns
    -------
    pathlib.Path
        ``$TRANSFER_SIM_MODEL`` if set, else ``model/transfer.mdl`` of the checkout
        (or the copy shipped inside a wheel).
    """
    env = os.environ.get("TRANSFER_SIM_MODEL")
    return Path(env) if env else bundled_path("model", "transfer.mdl")


def model_file(path: str | os.PathLike[str] | None = None) -> Path:
    """Return ``path`` as a :class:`~pathlib.Path`, or :func:`default_model_path` for ``None``.

    Every function that takes a model file takes it through this one, so ``None``
    means the bundled model everywhere.
    """
    return Path(path) if path is not None else default_model_path()


def default_scenarios_dir() -> Path:
    """Return the folder of bundled scenario files."""
    return bundled_path("scenarios")


def model_hash(path: str | os.PathLike[str] | None = None) -> str:
    """Return the SHA-256 hex digest of a model file.

    Parameters
    ----------
    path : path-like, default: the bundled model
        The file whose bytes are hashed.
    """
    p = model_file(path)
    try:
        return hashlib.sha256(p.read_bytes()).hexdigest()
    except OSError as exc:
        raise ModelError(f"{p}: cannot read the model file ({exc.strerror})") from None


def cache_dir() -> Path:
    """Return the root of the translation cache.

    ``$TRANSFER_SIM_CACHE`` if set, else ``$XDG_CACHE_HOME/transfer-sim`` or
    ``~/.cache/transfer-sim``.
    """
    env = os.environ.get("TRANSFER_SIM_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "transfer-sim"


def write_cache_file(path: str | os.PathLike[str], text: str, *,
                     replace: bool = False) -> Path:
    """Write ``text`` to a file of the cache atomically, making its folder; return the path.

    Parameters
    ----------
    path : path-like
        The file, normally inside :func:`cache_dir`.
    text : str
        The content (UTF-8).
    replace : bool
        Rewrite a file that exists; by default an existing file is kept, since a
        cache file's name holds the hash of what it was derived from.
    """
    path = Path(path)
    if replace or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    return path


def translated_model_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Translate the model with PySD once and return the cached ``.py``.

    Parameters
    ----------
    path : path-like, default: the bundled model
        The ``.mdl`` to translate (copied into the cache first).

    Returns
    -------
    pathlib.Path
        The translated Python file inside the cache, keyed by the model's hash and
        the PySD version. Translation happens in a temporary folder that is renamed
        into place, so concurrent processes never see a half-written cache entry.
    """
    src = model_file(path)
    key = f"{model_hash(src)[:20]}-pysd{package_version('pysd')}"
    target = cache_dir() / key
    py_file = target / "transfer.py"
    if py_file.exists():
        return py_file
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=target.parent))
    try:
        shutil.copyfile(src, tmp / "transfer.mdl")
        import pysd

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pysd.read_vensim(str(tmp / "transfer.mdl"))
        try:
            tmp.rename(target)
        except OSError:
            # Another process got there first; its entry is complete.
            shutil.rmtree(tmp, ignore_errors=True)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, ModelError):
            raise
        raise ModelError(f"{src}: PySD could not translate the model: {exc}") from exc
    return py_file


def load_pysd(path: str | os.PathLike[str] | None = None):  # noqa: ANN201 - pysd type
    """Load a fresh PySD model object from the translation cache.

    Parameters
    ----------
    path : path-like, default: the bundled model
        The ``.mdl`` whose translation is loaded (translated first if not cached).

    Returns
    -------
    pysd.py_backend.model.Model
        A new model object (each call loads anew, so no parameters leak between users).
    """
    import pysd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return pysd.load(str(translated_model_path(path)))


def catalogue(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Return PySD's documentation table of the model, indexed by Python name.

    A view of :func:`transfer_sim.model.facts.model_facts`: with the facts cached,
    no PySD is loaded.

    Parameters
    ----------
    path : path-like, default: the bundled model
        Model file, read through its cached facts.

    Returns
    -------
    pandas.DataFrame
        Columns ``Real Name``, ``Py Name``, ``Subscripts`` (tuple), ``Units``,
        ``Limits`` (``(min, max)``, NaN where open), ``Type``, ``Subtype``, ``Comment``.
    """
    from transfer_sim.model.facts import model_facts

    return model_facts(path).catalogue()
