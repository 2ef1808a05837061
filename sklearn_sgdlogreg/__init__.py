"""Logistic regression by mini-batch gradient descent, as a scikit-learn classifier."""

from importlib import import_module

try:
    import_module("._epoch", __name__)
except ModuleNotFoundError as error:
    if error.name != f"{__name__}._epoch":
        raise
    from ._source_tree import unbuilt_extension_message

    raise ImportError(unbuilt_extension_message()) from error

from ._estimator import SGDLogisticRegression

__all__ = ["SGDLogisticRegression"]
__version__ = "0.1.0"
