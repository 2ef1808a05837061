"""The data-parallel fit on a LocalCluster of worker processes."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import log_loss

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import PlantedBagOfWords, debian_tfidf_split

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

from sklearn_sgdlogreg import dask as sgd_dask  # noqa: E402
from sklearn_sgdlogreg.dask import DaskSGDLogisticRegression  # noqa: E402


@pytest.fixture
def client(dask_client):
    """The test run's LocalCluster of two worker processes (tests/conftest.py)."""
    return dask_client


@pytest.fixture(scope="module")
def debian():
    return debian_tfidf_split("multiclass", n_documents=8_000, random_state=0)


def _chunked(X, y, rows):
    return (
        da.from_array(X, chunks=(rows, X.shape[1]), asarray=False),
        da.from_array(y, chunks=rows),
    )


def test_the_dask_fit_reaches_the_single_machine_held_out_log_loss(client, debian):
    X_train, X_test, y_train, y_test = debian
    dX, dy = _chunked(X_train, y_train, 1_000)
    params = dict(alpha=1e-5, random_state=0)
    ours = DaskSGDLogisticRegression(**params).fit(dX, dy)
    local = SGDLogisticRegression(**params).fit(X_train, y_train)
    ours_loss = log_loss(y_test, ours.predict_proba(X_test), labels=ours.classes_)
    local_loss = log_loss(y_test, local.predict_proba(X_test), labels=local.classes_)
    assert ours_loss <= 1.01 * local_loss, (ours_loss, local_loss)
    np.testing.assert_array_equal(ours.classes_, local.classes_)
    # The step counter counts every sample of every epoch, as one machine's.
    assert ours.t_ == 1 + X_train.shape[0] * ours.n_iter_


def test_an_average_holds_the_iterates_of_every_worker(client, debian):
    X_train, X_test, y_train, y_test = debian
    dX, dy = _chunked(X_train, y_train, 1_000)
    averaged = DaskSGDLogisticRegression(
        alpha=1e-5, average=True, max_iter=4, tol=None, random_state=0
    ).fit(dX, dy)
    average = averaged._solver.average
    # Every step of every worker weighs its batch's samples in the average.
    assert average.total == pytest.approx(
        4 * X_train.shape[0] / averaged._solver.samples_per_row
    )
    last = DaskSGDLogisticRegression(
        alpha=1e-5, average=False, max_iter=4, tol=None, random_state=0
    ).fit(dX, dy)
    # The same path (same seeds), so the average differs from the last
    # iterate only by being the average.
    assert not np.allclose(averaged.coef_, last.coef_)
    np.testing.assert_allclose(
        averaged.predict_proba(X_test).sum(axis=1), 1.0, rtol=1e-12
    )


def _block(seed, n_rows):
    source = PlantedBagOfWords(n_classes=3, n_features=2**12, random_state=0)
    return source.sample(n_rows, random_state=seed)


def _worker_made(n_blocks, n_rows):
    """X and y whose blocks are made on the workers."""
    blocks = [dask.delayed(_block)(seed, n_rows) for seed in range(n_blocks)]
    meta = sp.csr_matrix((0, 2**12))
    X = da.concatenate(
        [
            da.from_delayed(b[0], shape=(n_rows, 2**12), dtype=float, meta=meta)
            for b in blocks
        ]
    )
    y = da.concatenate(
        [da.from_delayed(b[1], shape=(n_rows,), dtype=np.intp) for b in blocks]
    )
    return X, y


def test_no_block_of_the_data_reaches_the_client(client, monkeypatch):
    received = []

    def noted(self, state):
        received.append(type(self).__name__)
        self.__dict__.update(state)

    # Only this process's classes are patched: the workers' are not.
    monkeypatch.setattr(sgd_dask._Part, "__setstate__", noted, raising=False)
    X, y = _worker_made(n_blocks=6, n_rows=500)
    clf = DaskSGDLogisticRegression(max_iter=3, tol=None, random_state=0)
    clf.fit(X, y)
    assert received == []
    assert clf.predict(X).compute().shape == (3_000,)
    assert received == []
    # The check can fail: a part fetched by the client is noticed.
    part = client.submit(sgd_dask._check_block, *_block(0, 10), None)
    part.result()
    assert received == ["_Part"]


def test_prediction_on_a_dask_array_is_lazy_and_equals_the_local_one(client, debian):
    X_train, X_test, y_train, _ = debian
    clf = DaskSGDLogisticRegression(max_iter=3, tol=None, random_state=0)
    clf.fit(*_chunked(X_train, y_train, 2_000))
    dX_test = da.from_array(X_test, chunks=(500, X_test.shape[1]), asarray=False)
    for method in ("predict", "predict_proba", "predict_log_proba",
                   "decision_function"):  # fmt: skip
        lazy = getattr(clf, method)(dX_test)
        assert dask.is_dask_collection(lazy), method
        np.testing.assert_array_equal(lazy.compute(), getattr(clf, method)(X_test))


def test_the_fitted_model_pickles_and_continues_on_one_machine(client, debian):
    X_train, X_test, y_train, y_test = debian
    clf = DaskSGDLogisticRegression(max_iter=3, tol=None, random_state=0)
    clf.fit(*_chunked(X_train, y_train, 2_000))
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X_test), clf.predict_proba(X_test))
    t = clf.t_
    copy.partial_fit(X_test, y_test)
    assert copy.t_ == t + X_test.shape[0]
    assert log_loss(y_test, copy.predict_proba(X_test), labels=copy.classes_) < (
        log_loss(y_test, clf.predict_proba(X_test), labels=clf.classes_)
    )


def test_local_data_fits_as_the_base_class(debian):
    X_train, X_test, y_train, _ = debian
    ours = DaskSGDLogisticRegression(max_iter=3, tol=None, random_state=0)
    base = SGDLogisticRegression(max_iter=3, tol=None, random_state=0)
    ours.fit(X_train, y_train)
    base.fit(X_train, y_train)
    np.testing.assert_array_equal(ours.coef_, base.coef_)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"learning_rate": "adagrad"}, "learning_rate='adagrad' is not supported"),
        ({"early_stopping": True}, "early_stopping=True is not supported"),
    ],
)
def test_settings_the_dask_fit_cannot_honour_are_refused(client, params, message):
    X, y = _worker_made(n_blocks=2, n_rows=100)
    with pytest.raises(ValueError, match=message):
        DaskSGDLogisticRegression(**params).fit(X, y)


def test_blocks_chunked_by_columns_are_refused(client):
    X = da.from_array(np.ones((10, 4)), chunks=(5, 2))
    with pytest.raises(ValueError, match="chunked by rows only"):
        DaskSGDLogisticRegression().fit(X, da.from_array(np.arange(10) % 2, chunks=5))


def test_class_weights_and_sample_weights_apply_as_on_one_machine(client, debian):
    X_train, X_test, y_train, _ = debian
    dX, dy = _chunked(X_train, y_train, 1_000)
    weights = np.where(y_train == y_train[0], 3.0, 1.0)
    dw = da.from_array(weights, chunks=1_000)
    clf = DaskSGDLogisticRegression(class_weight="balanced", max_iter=2, tol=None)
    clf.fit(dX, dy, sample_weight=dw)
    # "balanced" from the rows of non-zero weight per class, as fit counts.
    _, expected = np.unique(y_train, return_counts=True)
    np.testing.assert_array_equal(clf._class_counts, expected)
    # Weights of mean above 1 count as that many samples.
    assert clf.t_ == pytest.approx(
        1 + 2 * (weights * clf._class_weights(clf.classes_, expected)[
            np.searchsorted(clf.classes_, y_train)]).sum()
    )


def test_weightless_and_empty_blocks_are_absent_rows(client, debian):
    X_train, _, y_train, _ = debian
    n = X_train.shape[0]
    # The first block weighs nothing, the second is empty.
    X = sp.vstack([X_train[:1_000], X_train[:0], X_train[1_000:]], format="csr")
    weights = np.r_[np.zeros(1_000), np.ones(n - 1_000)]
    dX = da.from_array(X, chunks=((1_000, 0, n - 1_000), (X.shape[1],)),
                       asarray=False)  # fmt: skip
    dy = da.from_array(y_train, chunks=((1_000, 0, n - 1_000),))
    dw = da.from_array(weights, chunks=((1_000, 0, n - 1_000),))
    clf = DaskSGDLogisticRegression(max_iter=2, tol=None, random_state=0)
    clf.fit(dX, dy, sample_weight=dw)
    assert clf.t_ == 1 + 2 * (n - 1_000)


def test_scores_of_a_float32_model_are_declared_float32(client, debian):
    X_train, X_test, y_train, _ = debian
    X32 = X_train.astype(np.float32)
    clf = DaskSGDLogisticRegression(max_iter=2, tol=None, random_state=0)
    clf.fit(*_chunked(X32, y_train, 2_000))
    dX = da.from_array(X_test.astype(np.float32), chunks=(500, X_test.shape[1]),
                       asarray=False)  # fmt: skip
    lazy = clf.predict_proba(dX)
    assert lazy.dtype == np.float32
    assert lazy.compute().dtype == np.float32
