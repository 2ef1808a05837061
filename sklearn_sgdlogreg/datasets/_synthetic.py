"""Synthetic bag-of-words documents with a planted logistic model.

A document is a Poisson number of tokens drawn from a Zipf law over a
vocabulary; each word is hashed to one of ``n_features`` columns (collisions
add up, as in ``HashingVectorizer``); a column holds ``1 + log(count)`` and
each row is scaled to unit l2 norm, as the Debian tf-idf features are. The
label is drawn from a logistic model planted on those very features::

    P(y = k | x) = softmax(x W* + b*)_k      (sigmoid of one score for 2 classes)

so a linear model can recover it, up to what the data show of rare words.

The same documents can be drawn as text (``texts``), for a vectorizer to
tokenise and hash: word ``r`` (by rank, 0 the most frequent) is written
``"w"`` followed by ``r`` in base 36, so frequent words are short ones.

With Poisson document lengths the count of each column is Poisson on its
own, so the expected number of non-zeros per row, ``sum_f 1 - exp(-lam p_f)``
over the columns' token probabilities ``p_f``, is exact; the document length
``lam`` is solved from the requested ``nnz_per_row``.
"""

import numpy as np
import scipy.sparse as sp
from scipy.optimize import brentq
from scipy.special import expit, softmax

# Knuth's multiplicative constant: a cheap hash that spreads word ids well.
_HASH_MULTIPLIER = np.uint64(2654435761)


class PlantedBagOfWords:
    """A source of labelled bag-of-words documents.

    The vocabulary, the hashing of words to columns and the planted model
    are fixed at construction by ``random_state``; documents are drawn later,
    chunk by chunk, so a million of them never need to be held at once.

    Parameters
    ----------
    n_classes : int, default=2
        Two classes give one planted score (sigmoid); more give one per
        class (softmax).
    n_features : int, default=2**20
        Number of hashed columns.
    n_vocabulary : int, default=50_000
        Number of distinct words.
    nnz_per_row : float, default=40
        Expected number of non-zeros per row (distinct columns per document).
    zipf_exponent : float, default=1.1
        Word ``r`` (by rank, from 1) has probability proportional to
        ``r ** -zipf_exponent``.
    n_informative : int, default=200
        The most frequent words that carry planted weights; the columns of
        the others weigh 0. A frequent word is seen often enough to be
        learnt, so the planted model can be recovered from a few thousand
        documents.
    signal : float, default=5.0
        Standard deviation of the planted weights.
    random_state : int or None, default=0
        Seeds the vocabulary hash and the planted model.

    Attributes
    ----------
    columns_ : ndarray of shape (n_columns,)
        The sorted columns that some word hashes to.
    coef_ : ndarray of shape (n_columns, n_outputs)
        Planted weights of those columns; every other column weighs 0.
        ``n_outputs`` is 1 for two classes, else ``n_classes``.
    intercept_ : ndarray of shape (n_outputs,)
    word_columns_ : ndarray of shape (n_vocabulary,)
        The column each word hashes to, by rank (0 the most frequent).
    doc_length_ : float
        Mean number of tokens per document, solved from ``nnz_per_row``.

    Examples
    --------
    >>> from sklearn_sgdlogreg.datasets import PlantedBagOfWords
    >>> source = PlantedBagOfWords(n_classes=3, n_features=2**12, random_state=0)
    >>> X, y = source.sample(100, random_state=1)
    >>> X.shape, X.format, sorted(set(y.tolist())) == [0, 1, 2]
    ((100, 4096), 'csr', True)
    """

    def __init__(self, n_classes=2, n_features=2**20, n_vocabulary=50_000,
                 nnz_per_row=40, zipf_exponent=1.1, n_informative=200,
                 signal=5.0, random_state=0):
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes}.")
        self.n_classes = n_classes
        self.n_features = n_features
        self.n_vocabulary = n_vocabulary
        self.nnz_per_row = nnz_per_row
        self.zipf_exponent = zipf_exponent
        self.n_informative = n_informative
        self.signal = signal
        self.random_state = random_state

        rng = np.random.default_rng(random_state)
        word_p = np.arange(1, n_vocabulary + 1, dtype=float) ** -zipf_exponent
        word_p /= word_p.sum()
        # Ranks are shuffled before hashing so that frequent words are not
        # all in neighbouring word ids.
        word_ids = rng.permutation(n_vocabulary).astype(np.uint64)
        word_column = (word_ids * _HASH_MULTIPLIER) % np.uint64(2**32)
        word_column = (word_column % np.uint64(n_features)).astype(np.intp)
        self.columns_, self._word_slot = np.unique(word_column, return_inverse=True)
        self.word_columns_ = self.columns_[self._word_slot]
        # Documents are built in "slot" space (one slot per used column);
        # columns_ is increasing, so mapping slots to columns keeps the
        # indices of every row sorted.
        slot_p = np.bincount(self._word_slot, weights=word_p)
        if nnz_per_row >= slot_p.size:
            raise ValueError(
                f"nnz_per_row={nnz_per_row} needs more than the {slot_p.size} "
                "columns the vocabulary hashes to."
            )
        self.doc_length_ = brentq(
            lambda lam: np.sum(-np.expm1(-lam * slot_p)) - nnz_per_row,
            nnz_per_row, 1e3 * nnz_per_row + slot_p.size,
        )
        self._word_cdf = np.cumsum(word_p)
        self._word_cdf[-1] = 1.0
        n_outputs = 1 if n_classes == 2 else n_classes
        self.coef_ = np.zeros((slot_p.size, n_outputs))
        # Words are numbered by rank, so the first ones are the most frequent.
        informative = np.unique(self._word_slot[:n_informative])
        self.coef_[informative] = rng.normal(
            0.0, signal, size=(informative.size, n_outputs)
        )
        # Words in nearly every document add a near-constant score that
        # would make one class dominate; an intercept cancels its mean.
        pilot = self._rows(2_000, rng)
        self.intercept_ = -np.asarray(pilot @ self.coef_).mean(axis=0)

    def _tokens(self, n_samples, rng):
        """Document lengths, and every document's word ranks one after another."""
        lengths = rng.poisson(self.doc_length_, size=n_samples)
        return lengths, np.searchsorted(self._word_cdf, rng.random(lengths.sum()))

    def _rows(self, n_samples, rng):
        """Unit-norm rows in slot space, shape (n_samples, n_columns)."""
        return self._rows_of_tokens(*self._tokens(n_samples, rng))

    def _rows_of_tokens(self, lengths, tokens):
        n_samples = lengths.size
        docs = np.repeat(np.arange(n_samples), lengths)
        counts = sp.csr_matrix(
            (np.ones(tokens.size), (docs, self._word_slot[tokens])),
            shape=(n_samples, self.columns_.size),
        )
        counts.sum_duplicates()
        values = 1.0 + np.log(counts.data)
        row_of_value = np.repeat(np.arange(n_samples), np.diff(counts.indptr))
        row_norms = np.sqrt(np.bincount(row_of_value, weights=values**2,
                                        minlength=n_samples))
        row_norms[row_norms == 0] = 1.0
        values /= row_norms[row_of_value]
        return sp.csr_matrix((values, counts.indices, counts.indptr),
                             shape=counts.shape)

    def _labels(self, rows, rng):
        raw = rows @ self.coef_ + self.intercept_
        if self.n_classes == 2:
            return (rng.random(raw.shape[0]) < expit(raw[:, 0])).astype(np.intp)
        proba = softmax(raw, axis=1)
        # Inverse-cdf sampling of one class per row.
        u = rng.random((raw.shape[0], 1))
        return np.minimum((np.cumsum(proba, axis=1) < u).sum(axis=1),
                          self.n_classes - 1)

    def _to_columns(self, rows):
        return sp.csr_matrix(
            (rows.data, self.columns_[rows.indices].astype(np.int32), rows.indptr),
            shape=(rows.shape[0], self.n_features),
        )

    def chunks(self, n_samples, chunk_size=10_000, random_state=None):
        """Draw ``n_samples`` documents, ``chunk_size`` at a time.

        Parameters
        ----------
        n_samples : int
        chunk_size : int, default=10_000
        random_state : int or None, default=None
            Seeds the documents and their labels. The same seed and
            ``chunk_size`` give the same stream.

        Yields
        ------
        X : csr_matrix of float64, shape (m, n_features)
        y : ndarray of int, shape (m,)
            Class indices 0 .. n_classes - 1.
        """
        yield from self._stream(self._chunk, n_samples, chunk_size, random_state)

    @staticmethod
    def _stream(draw, n_samples, chunk_size, random_state):
        """``draw(m, rng)`` for chunks of ``chunk_size`` up to ``n_samples``."""
        rng = np.random.default_rng(random_state)
        for start in range(0, n_samples, chunk_size):
            # No local name holds the chunk: a suspended generator would keep
            # it alive while the caller works on the next one.
            yield draw(min(chunk_size, n_samples - start), rng)

    def _chunk(self, n_samples, rng):
        rows = self._rows(n_samples, rng)
        return self._to_columns(rows), self._labels(rows, rng)

    def texts(self, n_samples, chunk_size=10_000, random_state=None):
        """Draw ``n_samples`` documents as text, ``chunk_size`` at a time.

        The documents and labels are those ``chunks`` draws with the same
        ``random_state`` and ``chunk_size``, one for one: each document is
        its tokens in the order drawn, separated by spaces, word ``r`` (by
        rank, 0 the most frequent) written ``"w"`` followed by ``r`` in
        base 36. Every word has at least two characters, so the default
        token pattern of scikit-learn's vectorizers finds them all: counting
        them gives the counts the rows of ``chunks`` are made from (a
        vectorizer's own hashing puts them in other columns). The labels are
        drawn from the planted model applied to the rows of ``chunks``.

        Parameters
        ----------
        n_samples : int
        chunk_size : int, default=10_000
        random_state : int or None, default=None
            Seeds the documents and their labels. The same seed and
            ``chunk_size`` give the same stream.

        Yields
        ------
        documents : list of str, of length m
        y : ndarray of int, shape (m,)
            Class indices 0 .. n_classes - 1.

        Examples
        --------
        >>> from sklearn_sgdlogreg.datasets import PlantedBagOfWords
        >>> source = PlantedBagOfWords(n_classes=3, n_features=2**12, random_state=0)
        >>> documents, y = next(source.texts(1_000, random_state=1))
        >>> len(documents), y.shape
        (1000, (1000,))
        >>> documents[0].split()[:8]
        ['w0', 'wkp', 'w6', 'w5', 'w4', 'wlyz', 'wu', 'w58i']
        >>> _, y_rows = next(source.chunks(1_000, random_state=1))
        >>> bool((y == y_rows).all())
        True
        """
        yield from self._stream(
            self._text_chunk, n_samples, chunk_size, random_state
        )

    def _text_chunk(self, n_samples, rng):
        lengths, tokens = self._tokens(n_samples, rng)
        y = self._labels(self._rows_of_tokens(lengths, tokens), rng)
        words = self._spellings()[tokens].tolist()
        ends = np.cumsum(lengths).tolist()
        starts = [0, *ends[:-1]]
        return [" ".join(words[a:b]) for a, b in zip(starts, ends)], y

    def _spellings(self):
        """The words as strings, by rank; made on first use, then kept."""
        if getattr(self, "_words", None) is None:
            self._words = np.array(
                ["w" + np.base_repr(r, 36).lower() for r in range(self.n_vocabulary)],
                dtype=object,
            )
        return self._words

    def sample(self, n_samples, random_state=None, chunk_size=10_000):
        """Draw ``n_samples`` documents at once (the chunks stacked).

        Parameters
        ----------
        n_samples : int
        random_state : int or None, default=None
        chunk_size : int, default=10_000

        Returns
        -------
        X : csr_matrix of float64, shape (n_samples, n_features)
        y : ndarray of int, shape (n_samples,)
        """
        parts = list(self.chunks(n_samples, chunk_size, random_state))
        X = sp.vstack([X for X, _ in parts], format="csr")
        return X, np.concatenate([y for _, y in parts])

    def predict_proba(self, X):
        """Probabilities of the classes under the planted model.

        Parameters
        ----------
        X : csr_matrix of shape (n_samples, n_features)
            Rows from this source.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        raw = X[:, self.columns_] @ self.coef_ + self.intercept_
        if self.n_classes == 2:
            return np.column_stack([expit(-raw[:, 0]), expit(raw[:, 0])])
        return softmax(raw, axis=1)
