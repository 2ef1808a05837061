"""scikit-learn's own conformance checks."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_sgdlogreg import SGDLogisticRegression


# The sample-weight equivalence checks pass on all three: their data sets
# fit in one batch, where integer weights and repeated rows take the same
# steps (tests/test_sample_weight.py asserts it, and how close smaller
# batches come).
@parametrize_with_checks(
    [
        SGDLogisticRegression(),
        # Multiclass-oriented: small batches, averaging, an adaptive schedule.
        SGDLogisticRegression(
            batch_size=32, average=10, learning_rate="adaptive", eta0=0.1
        ),
        # Per-feature rates with the lazily paid elastic net.
        SGDLogisticRegression(
            learning_rate="adagrad", eta0=1.0, penalty="elasticnet", alpha=1e-3
        ),
    ],
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
