"""The real text corpus shipped with the package, and the tasks built on it."""

import gzip
import json
from pathlib import Path

import numpy as np

DEBIAN_PATH = Path(__file__).parent / "data" / "debian_descriptions.jsonl.gz"

#: Sections that make the positive class of the binary task.
BINARY_POSITIVE = ("libs", "libdevel")


def load_debian_descriptions():
    """Descriptions of Debian 12 packages and their archive sections.

    63,436 documents, 58 sections. See ``data/README.md`` in the repository
    for where the data comes from.

    Returns
    -------
    texts : list of str
    sections : ndarray of str, shape (n_documents,)
    """
    texts, sections = [], []
    with gzip.open(DEBIAN_PATH, "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            texts.append(record["text"])
            sections.append(record["section"])
    return texts, np.array(sections)


def debian_task(task, min_documents=50):
    """Texts and labels of one of the two benchmark tasks.

    Parameters
    ----------
    task : {"multiclass", "binary"}
        ``"multiclass"``: every section with at least ``min_documents``
        documents (53 classes). ``"binary"``: sections libs or libdevel
        (label 1) against the rest (label 0), all documents.
    min_documents : int, default=50

    Returns
    -------
    texts : list of str
    y : ndarray of shape (n_documents,)
    """
    texts, sections = load_debian_descriptions()
    if task == "binary":
        return texts, np.isin(sections, BINARY_POSITIVE).astype(int)
    if task != "multiclass":
        raise ValueError(f"task must be 'multiclass' or 'binary', got {task!r}.")
    names, counts = np.unique(sections, return_counts=True)
    keep = np.isin(sections, names[counts >= min_documents])
    return [t for t, k in zip(texts, keep) if k], sections[keep]
