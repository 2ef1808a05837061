"""skops persistence: the types a file asks to trust, and training after a load."""

import numpy as np
import pytest

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import debian_tfidf_split

skops_io = pytest.importorskip("skops.io")
from skops.io.exceptions import UntrustedTypesFoundException

ESTIMATOR = "sklearn_sgdlogreg._estimator.SGDLogisticRegression"
SOLVER = "sklearn_sgdlogreg._solver.Solver"
AVERAGE = "sklearn_sgdlogreg._solver.Average"
ADAGRAD_STATE = "sklearn_sgdlogreg._solver.AdaGradState"
ELASTIC_NET = "sklearn_sgdlogreg._penalties.ElasticNet"
CSR_MATRIX = "scipy.sparse._csr.csr_matrix"

#: The list docs/export.md tells users to trust: a change to the solver's
#: state that adds, renames or drops one of these types fails this module,
#: and the page must change with it.
DOCUMENTED_TYPES = [ESTIMATOR, ELASTIC_NET, ADAGRAD_STATE, AVERAGE, SOLVER]

# Parameters, whether coef_ is sparsified, and the types the file holds.
CASES = {
    "averaged (default)": ({}, False, [ESTIMATOR, AVERAGE, SOLVER]),
    "not averaged": ({"average": False}, False, [ESTIMATOR, SOLVER]),
    "adagrad": (
        {"learning_rate": "adagrad"},
        False,
        [ESTIMATOR, ELASTIC_NET, ADAGRAD_STATE, SOLVER],
    ),
    "sparsified": ({}, True, [CSR_MATRIX, ESTIMATOR, AVERAGE, SOLVER]),
}


@pytest.fixture(scope="module")
def debian():
    X, _, y, _ = debian_tfidf_split("multiclass", n_documents=2000)
    return X, y


def test_cases_cover_the_documented_types():
    found = {name for *_, names in CASES.values() for name in names}
    assert sorted(found) == sorted([*DOCUMENTED_TYPES, CSR_MATRIX])


@pytest.mark.parametrize("case", CASES)
def test_load_with_the_documented_types_and_continue_training(case, debian, tmp_path):
    params, sparsify, untrusted = CASES[case]
    X, y = debian
    model = SGDLogisticRegression(random_state=0, **params).fit(X, y)
    if sparsify:
        model.sparsify()
    path = tmp_path / "model.skops"
    skops_io.dump(model, path)

    assert skops_io.get_untrusted_types(file=path) == untrusted
    with pytest.raises(UntrustedTypesFoundException):
        skops_io.load(path, trusted=untrusted[:-1])
    loaded = skops_io.load(path, trusted=untrusted)

    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # The whole optimiser state came back: one more call moves both the same.
    model.partial_fit(X[:500], y[:500])
    loaded.partial_fit(X[:500], y[:500])
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_array_equal(loaded.intercept_, model.intercept_)
    assert loaded.t_ == model.t_
