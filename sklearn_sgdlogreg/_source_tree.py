"""What to tell a user who imports the package from an unbuilt source tree.

A plain ``pip install .`` builds the compiled epoch into the installed copy
only. Wherever the repository root (or an unpacked sdist) is the current
directory, Python finds its source folder first, and the import of
``_epoch`` would fail with a message that names neither the cause nor the
remedy.
"""

import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path


def built_copies(package):
    """Other copies of ``package`` on ``sys.path`` whose extension is built.

    Parameters
    ----------
    package : Path
        The folder the package was imported from.

    Returns
    -------
    copies : list of Path
        In the order Python searches them.
    """
    copies = []
    for entry in sys.path:
        copy = Path(entry or ".").resolve() / package.name
        if copy != package and any(
            (copy / f"_epoch{suffix}").is_file() for suffix in EXTENSION_SUFFIXES
        ):
            copies.append(copy)
    return copies


def unbuilt_extension_message():
    """The cause of the missing ``_epoch`` and the two ways out.

    Returns
    -------
    message : str
    """
    here = Path(__file__).resolve().parent
    unbuilt = (
        f"sklearn_sgdlogreg was imported from {here}, a source tree whose "
        "compiled extension '_epoch' is not built."
    )
    copies = built_copies(here)
    if copies:
        return (
            f"{unbuilt} It comes before the installed copy in {copies[0]} on "
            "sys.path (Python puts the current directory first): run Python "
            "and pytest from another directory, or build the extension here "
            "with `pip install -e .`."
        )
    return (
        f"{unbuilt} Build it here with `pip install -e .`, or install the "
        "package with `pip install .` and run Python and pytest from another "
        "directory, where this folder cannot shadow the installed copy."
    )
