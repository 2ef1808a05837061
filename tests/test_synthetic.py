"""The synthetic bag-of-words generator, and a model learnt from its data."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer
from sklearn.metrics import accuracy_score, log_loss
from sklearn.preprocessing import normalize

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import PlantedBagOfWords


@pytest.mark.parametrize("n_classes", [2, 4])
def test_sample_is_unit_norm_csr_with_labels_in_range(n_classes):
    source = PlantedBagOfWords(n_classes=n_classes, n_features=2**12)
    X, y = source.sample(3_000, random_state=0)
    assert sp.issparse(X) and X.format == "csr" and X.dtype == np.float64
    assert X.shape == (3_000, 2**12) and y.shape == (3_000,)
    assert X.has_canonical_format
    assert np.issubdtype(y.dtype, np.integer)
    assert set(np.unique(y).tolist()) == set(range(n_classes))
    row_norms = np.sqrt(X.multiply(X).sum(axis=1)).A1
    non_empty = np.diff(X.indptr) > 0
    np.testing.assert_allclose(row_norms[non_empty], 1.0)
    assert X.data.min() > 0


@pytest.mark.parametrize("n_features", [2**20, 2**10])
@pytest.mark.parametrize("nnz_per_row", [10, 40])
def test_nnz_per_row_is_near_the_requested_mean(n_features, nnz_per_row):
    # 2**10 columns for 50,000 words: collisions merge many words, and the
    # document length must have been solved with them counted.
    source = PlantedBagOfWords(n_features=n_features, nnz_per_row=nnz_per_row)
    X, _ = source.sample(5_000, random_state=0)
    assert X.nnz / X.shape[0] == pytest.approx(nnz_per_row, rel=0.03)
    assert source.doc_length_ > nnz_per_row


@pytest.mark.parametrize("n_classes", [2, 5])
def test_label_frequencies_follow_the_planted_model(n_classes):
    source = PlantedBagOfWords(n_classes=n_classes, n_features=2**16)
    n_samples = 20_000
    X, y = source.sample(n_samples, random_state=3)
    expected = source.predict_proba(X).mean(axis=0)
    observed = np.bincount(y, minlength=n_classes) / n_samples
    standard_error = np.sqrt(expected * (1 - expected) / n_samples)
    assert np.all(np.abs(observed - expected) < 4 * standard_error)
    # The intercept cancels the score of the words every document has, so
    # no class takes most of the documents.
    assert observed.max() < 2.5 / n_classes


@pytest.mark.parametrize("n_classes", [2, 5])
def test_planted_model_is_recoverable(n_classes):
    source = PlantedBagOfWords(n_classes=n_classes, n_features=2**16)
    X, y = source.sample(12_000, random_state=1)
    X_train, y_train, X_test, y_test = X[:8_000], y[:8_000], X[8_000:], y[8_000:]
    model = SGDLogisticRegression(random_state=0).fit(X_train, y_train)
    proba = model.predict_proba(X_test)
    prior = np.bincount(y_train, minlength=n_classes) / y_train.size
    assert accuracy_score(y_test, proba.argmax(axis=1)) > prior.max() + 0.15
    prior_loss = log_loss(y_test, np.tile(prior, (y_test.size, 1)))
    assert log_loss(y_test, proba) < 0.9 * prior_loss
    # The planted model does better still: 8,000 documents do not reveal it
    # whole.
    assert log_loss(y_test, source.predict_proba(X_test)) < log_loss(y_test, proba)

    # The learnt weights of the informative columns point where the planted
    # ones do (up to a shift shared by all classes, which softmax ignores).
    informative = np.flatnonzero(source.coef_.any(axis=1))
    learnt = model.coef_.T[source.columns_[informative]]
    planted = source.coef_[informative]
    if n_classes > 2:
        learnt = learnt - learnt.mean(axis=1, keepdims=True)
        planted = planted - planted.mean(axis=1, keepdims=True)
    cosine = np.sum(learnt * planted) / (
        np.linalg.norm(learnt) * np.linalg.norm(planted)
    )
    assert cosine > 0.7


def test_same_random_state_same_data_and_chunks_add_up():
    X1, y1 = PlantedBagOfWords(n_classes=3, n_features=2**14).sample(
        5_000, random_state=7, chunk_size=2_000
    )
    X2, y2 = PlantedBagOfWords(n_classes=3, n_features=2**14).sample(
        5_000, random_state=7, chunk_size=2_000
    )
    assert (X1 != X2).nnz == 0 and np.array_equal(y1, y2)
    X3, _ = PlantedBagOfWords(n_classes=3, n_features=2**14).sample(
        5_000, random_state=8, chunk_size=2_000
    )
    assert (X1 != X3).nnz > 0

    chunks = list(
        PlantedBagOfWords(n_classes=3, n_features=2**14).chunks(
            5_000, chunk_size=2_000, random_state=7
        )
    )
    assert [X.shape[0] for X, _ in chunks] == [2_000, 2_000, 1_000]
    assert (sp.vstack([X for X, _ in chunks]) != X1).nnz == 0


def test_other_source_seed_plants_another_model():
    a = PlantedBagOfWords(n_features=2**14, random_state=0)
    b = PlantedBagOfWords(n_features=2**14, random_state=1)
    assert a.coef_.shape == b.coef_.shape
    assert not np.allclose(a.coef_, b.coef_)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_texts_spell_the_documents_and_labels_of_chunks(n_classes):
    source = PlantedBagOfWords(n_classes=n_classes, n_features=2**12)
    texts = list(source.texts(2_500, chunk_size=1_000, random_state=5))
    rows = list(source.chunks(2_500, chunk_size=1_000, random_state=5))
    assert [len(documents) for documents, _ in texts] == [1_000, 1_000, 500]
    for (documents, y_text), (X, y) in zip(texts, rows, strict=True):
        np.testing.assert_array_equal(y_text, y)
        # Counting each text's words and adding each count into the column
        # the source hashes that word to must rebuild the row of chunks().
        counter = CountVectorizer(token_pattern=r"\S+", lowercase=False)
        counts = counter.fit_transform(documents)
        words = counter.get_feature_names_out()
        ranks = np.array([int(word[1:], 36) for word in words])
        assert all(
            word == "w" + np.base_repr(rank, 36).lower()
            for word, rank in zip(words, ranks)
        )
        to_columns = sp.csr_matrix(
            (np.ones(ranks.size), (np.arange(ranks.size), source.word_columns_[ranks])),
            shape=(ranks.size, source.n_features),
        )
        column_counts = (counts @ to_columns).tocsr()
        column_counts.data = 1.0 + np.log(column_counts.data)
        rebuilt = normalize(column_counts)
        assert rebuilt.nnz == X.nnz
        assert abs(rebuilt - X).max() < 1e-12
        # The default token pattern finds every word too.
        hashed = HashingVectorizer(alternate_sign=False, norm=None)
        np.testing.assert_array_equal(
            hashed.transform(documents).sum(axis=1).A1, counts.sum(axis=1).A1
        )


def test_texts_same_random_state_same_stream():
    source = PlantedBagOfWords(n_classes=3, n_features=2**12)
    first = next(source.texts(500, random_state=3))
    again = next(
        PlantedBagOfWords(n_classes=3, n_features=2**12).texts(500, random_state=3)
    )
    other = next(source.texts(500, random_state=4))
    assert first[0] == again[0] and np.array_equal(first[1], again[1])
    assert first[0] != other[0]
