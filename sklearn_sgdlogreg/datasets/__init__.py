"""The Debian corpus shipped with the package, its tasks, and synthetic text."""

import gzip
import json
from pathlib import Path

import numpy as np

from ._synthetic import PlantedBagOfWords

__all__ = [
    "PlantedBagOfWords",
    "debian_task",
    "debian_tfidf_split",
    "load_debian_descriptions",
]

DEBIAN_PATH = Path(__file__).parent / "data" / "debian_descriptions.jsonl.gz"

#: Sections that make the positive class of the binary task.
BINARY_POSITIVE = ("libs", "libdevel")


def load_debian_descriptions():
    """Descriptions of Debian 12 packages and their archive sections.

    63,436 documents, 58 sections. ``data/README.md`` beside this module
    (in the repository) says where the data comes from.

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


def debian_tfidf_split(task, test_size=0.2, n_documents=None, random_state=0):
    """The fixed tf-idf train/test split the demo, tests and benchmarks share.

    Parameters
    ----------
    task : {"multiclass", "binary"}
        See :func:`debian_task`.
    test_size : float, default=0.2
        Share of the documents held out, stratified by label.
    n_documents : int or None, default=None
        Keep a stratified random subset of this many documents first (for
        quick tests); None keeps them all.
    random_state : int, default=0
        Seeds the subset and the split.

    Returns
    -------
    X_train, X_test : csr_matrix of float64
        Tf-idf (``min_df=2``, sublinear tf, l2-normalised rows), fitted on the
        training part.
    y_train, y_test : ndarray
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import train_test_split

    texts, y = debian_task(task)
    if n_documents is not None:
        texts, _, y, _ = train_test_split(
            texts, y, train_size=n_documents, stratify=y, random_state=random_state
        )
    texts_train, texts_test, y_train, y_test = train_test_split(
        texts, y, test_size=test_size, stratify=y, random_state=random_state
    )
    vectorizer = TfidfVectorizer(min_df=2, sublinear_tf=True)
    X_train = vectorizer.fit_transform(texts_train)
    return X_train, vectorizer.transform(texts_test), y_train, y_test
