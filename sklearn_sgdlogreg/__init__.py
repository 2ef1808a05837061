"""Logistic regression by mini-batch gradient descent, as a scikit-learn classifier."""

from ._estimator import SGDLogisticRegression

__all__ = ["SGDLogisticRegression"]
__version__ = "0.1.0"
