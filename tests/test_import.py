"""Importing the package from a source tree whose extension is not built."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sklearn_sgdlogreg

INSTALLED = Path(sklearn_sgdlogreg.__file__).resolve().parent


def _import_error(folder, extra_path=()):
    """The last line of the error of importing the package from ``folder``.

    The import runs in a new interpreter whose current directory is
    ``folder``, with ``extra_path`` after it on sys.path. ``-S`` keeps
    site-packages, and so the installed package (an editable install
    included, whose import hook would supply the missing extension), off
    sys.path; the Python
    sources alone are in ``folder``, as in a clone or an unpacked sdist.
    """
    shutil.copytree(
        INSTALLED,
        folder / "sklearn_sgdlogreg",
        ignore=shutil.ignore_patterns("_epoch.*", "__pycache__"),
    )
    code = f"import sys; sys.path += {list(map(str, extra_path))!r}; "
    completed = subprocess.run(
        [sys.executable, "-S", "-c", code + "import sklearn_sgdlogreg"],
        cwd=folder,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 1
    assert (
        "ModuleNotFoundError: No module named 'sklearn_sgdlogreg._epoch'"
        in completed.stderr
    )
    last_line = completed.stderr.strip().splitlines()[-1]
    assert last_line.startswith(
        f"ImportError: sklearn_sgdlogreg was imported from "
        f"{folder.resolve() / 'sklearn_sgdlogreg'}, a source tree whose compiled "
        "extension '_epoch' is not built. "
    )
    return last_line


@pytest.mark.parametrize("installed", [False, True])
def test_unbuilt_source_tree_says_why_and_what_to_do(tmp_path, installed):
    if installed:
        message = _import_error(tmp_path, extra_path=[INSTALLED.parent])
        assert (
            f"It comes before the installed copy in {INSTALLED} on sys.path" in message
        )
    else:
        message = _import_error(tmp_path)
        assert (
            "Build it here with `pip install -e .`, or install the package with "
            "`pip install .` and run Python and pytest from another directory"
        ) in message
    assert "`pip install -e .`" in message
    assert "run Python and pytest from another directory" in message
