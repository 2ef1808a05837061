"""Under dask-ml's wrappers and joblib's Dask backend, on a LocalCluster.

The chunks are CSR matrices, as text arrives; the cluster's workers are
processes (``conftest.py``), so each model a task receives was pickled.
Needs the ``[dask]`` and ``[test-dask]`` extras; skips without them.
"""

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from threadpoolctl import threadpool_limits

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import debian_tfidf_split

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
wrappers = pytest.importorskip("dask_ml.wrappers")

# Rows per chunk: 4 training chunks of the 4,800 documents, each of more
# than 4 batches, so that average="auto" averages from the second on.
ROWS = 1200


def _one_thread():
    """Where this process computes a reference: on one thread, as each
    worker does (the nanny starts it with ``OMP_NUM_THREADS=1``). The model
    is the same at any thread count (``tests/test_solver.py``); this keeps
    these tests about Dask, and quick on a machine busy with other work."""
    return threadpool_limits(1)


@pytest.fixture(scope="module", params=["multiclass", "binary"])
def debian(request):
    """A small tf-idf split of the Debian corpus: 53 classes, or 2."""
    X_train, X_test, y_train, y_test = debian_tfidf_split(
        request.param, n_documents=6000
    )
    return X_train, X_test, y_train, y_test


def _chunked(X, y=None, rows=ROWS, client=None):
    """``X`` (CSR) as a dask array of CSR chunks of ``rows`` rows, and ``y``.

    Without a ``client``, the chunks are slices of ``X``, which the graph
    holds. With one, they are scattered to the workers in turn (each label
    chunk with its rows), so that they live on the cluster, not in the
    graph, and a stream of tasks over them goes from one worker to the
    other.
    """
    if client is None:
        X_dask = da.from_array(X, chunks=(rows, X.shape[1]))
        return X_dask if y is None else (X_dask, da.from_array(y, chunks=rows))
    workers = sorted(client.scheduler_info()["workers"])
    X_parts, y_parts = [], []
    for i, start in enumerate(range(0, X.shape[0], rows)):
        on = [workers[i % len(workers)]]
        X_part, y_part = X[start : start + rows], y[start : start + rows]
        X_parts.append(
            da.from_delayed(
                client.scatter(X_part, workers=on), X_part.shape, X.dtype, meta=X[:0]
            )
        )
        y_parts.append(
            da.from_delayed(
                client.scatter(y_part, workers=on), y_part.shape, y.dtype, meta=y[:0]
            )
        )
    return da.concatenate(X_parts), da.concatenate(y_parts)


def _state(obj):
    """What an object holds, as nested dicts: ``__getstate__`` where it has
    one (the solver drops its scratch there), else ``__dict__``."""
    if isinstance(obj, dict):
        return {key: _state(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_state(value) for value in obj)
    if isinstance(obj, np.random.RandomState):
        return _state(obj.get_state(legacy=False))
    if isinstance(obj, (np.ndarray, np.generic, type)) or not hasattr(obj, "__dict__"):
        return obj
    state = obj.__getstate__() if hasattr(obj, "__getstate__") else vars(obj)
    return (type(obj), _state(state if isinstance(state, dict) else vars(obj)))


def _assert_same(a, b, path="model"):
    """``a`` and ``b`` equal to the last bit, NaN equal to NaN."""
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert sorted(a) == sorted(b), path
        for key in a:
            _assert_same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        equal_nan = a.dtype.kind in "fc"
        assert np.array_equal(a, b, equal_nan=equal_nan), path
    elif isinstance(a, float):
        assert a == b or (np.isnan(a) and np.isnan(b)), path
    else:
        assert a == b, path


def _partial_fits(estimator, X, y, classes, rows=ROWS):
    """The reference: ``partial_fit`` on each chunk in order, in this process."""
    for start in range(0, X.shape[0], rows):
        estimator.partial_fit(
            X[start : start + rows], y[start : start + rows], classes=classes
        )
    return estimator


def test_incremental_is_partial_fit_over_the_chunks_in_order(debian, dask_client):
    """The model dask-ml's ``Incremental`` trains on the cluster is the one
    ``partial_fit`` over the same chunks in the same order trains here, to
    the last bit of its whole state (weights, step counter, owed penalties,
    average, random state), and it predicts as that one does."""
    X_train, X_test, y_train, y_test = debian
    classes = np.unique(y_train)
    X, y = _chunked(X_train, y_train, client=dask_client)
    params = dict(alpha=1e-5, random_state=0)
    # The wrapper's default visits the chunks in a random order; the
    # reference needs a known one.
    incremental = wrappers.Incremental(
        SGDLogisticRegression(**params), scoring="accuracy", shuffle_blocks=False
    )
    # Two calls: the second sends the model trained by the first back to
    # the cluster, pickled mid-stream, to go on from there.
    half = X.numblocks[0] // 2 * ROWS
    incremental.fit(X[:half], y[:half], classes=classes)
    incremental.partial_fit(X[half:], y[half:])

    with _one_thread():
        local = _partial_fits(
            SGDLogisticRegression(**params), X_train, y_train, classes
        )
    fitted = incremental.estimator_
    assert local._solver.average is not None  # its state is compared too
    assert fitted.t_ == local.t_ == X_train.shape[0] + 1
    np.testing.assert_array_equal(fitted.coef_, local.coef_)
    np.testing.assert_array_equal(fitted.intercept_, local.intercept_)
    _assert_same(_state(fitted), _state(local))

    X_test_dask, y_test_dask = _chunked(X_test, y_test, rows=400)
    proba = incremental.predict_proba(X_test_dask)
    labels = incremental.predict(X_test_dask)
    assert dask.is_dask_collection(proba) and dask.is_dask_collection(labels)
    np.testing.assert_array_equal(proba.compute(), local.predict_proba(X_test))
    np.testing.assert_array_equal(labels.compute(), local.predict(X_test))
    # The wrapper's scoring, by dask-ml's metric on the chunks: a count of
    # hits over the same number of documents. (Not "neg_log_loss": dask-ml
    # 2025.1.0 passes that metric needs_proba=True, which scikit-learn >= 1.6
    # hands on to log_loss, which refuses it.)
    assert incremental.score(X_test_dask, y_test_dask) == local.score(X_test, y_test)


def test_parallel_post_fit_predict_proba_is_lazy_and_exact(debian, dask_client):
    X_train, X_test, y_train, _ = debian
    clf = wrappers.ParallelPostFit(SGDLogisticRegression(random_state=0))
    with _one_thread():
        clf.fit(X_train, y_train)
    X_test_dask = _chunked(X_test, rows=300)
    with distributed.get_task_stream(dask_client) as before:
        proba = clf.predict_proba(X_test_dask)
    # A graph, not a result: nothing has run on the cluster yet.
    assert dask.is_dask_collection(proba)
    assert before.data == []
    assert proba.chunks == (X_test_dask.chunks[0], (len(clf.classes_),))
    with distributed.get_task_stream(dask_client) as during:
        computed = proba.compute()
    assert len(during.data) >= X_test_dask.numblocks[0]
    np.testing.assert_array_equal(computed, clf.estimator.predict_proba(X_test))


def test_grid_search_on_joblibs_dask_backend_scores_as_on_the_default(
    debian, dask_client
):
    """Each fit is deterministic with a fixed ``random_state``, so the fits
    on the cluster's processes score exactly as the local ones."""
    X_train, _, y_train, _ = debian

    def search():
        # Three epochs a fit: the scores are compared, not how far the fits
        # got, and at alpha=1e-6 a fit to convergence takes many more.
        return GridSearchCV(
            SGDLogisticRegression(random_state=0, max_iter=3, tol=None),
            {"alpha": [1e-4, 1e-5, 1e-6]},
            error_score="raise",
            cv=3,
            scoring="neg_log_loss",
        ).fit(X_train, y_train)

    with _one_thread():
        local = search()
    with distributed.get_task_stream(dask_client) as tasks:
        with joblib.parallel_backend("dask"):
            on_dask = search()
    # The fits ran on the workers (joblib sends them in batches).
    assert tasks.data
    np.testing.assert_array_equal(
        on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert on_dask.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        on_dask.best_estimator_.coef_, local.best_estimator_.coef_
    )
