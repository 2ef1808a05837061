"""Cross-entropy losses that speak raw predictions (scores).

Both losses take ``raw_prediction`` of shape (n_samples, n_outputs) and an
integer target ``y`` holding each sample's class index. The binary loss has
one output (the score of the positive class); the multinomial loss has one
output per class.

The loss, its gradient and its curvature are computed by the compiled code
the solver's epoch runs (``_epoch.loss_gradient``), so the package has one
implementation of them; the probabilities are computed here.
"""

import numpy as np
from scipy.special import expit, log_expit

from ._epoch import curvature_along_rows, loss_gradient_rows


class BinaryCrossEntropy:
    """Sigmoid cross-entropy, ``log(1 + exp(z)) - y * z``.

    ``curvature_bound`` bounds the second derivative of the loss with respect
    to the score: ``sigma(z) * (1 - sigma(z)) <= 1/4``.
    """

    curvature_bound = 0.25

    @staticmethod
    def n_outputs(n_classes):
        return 1

    @staticmethod
    def loss_gradient(raw_prediction, y):
        """Per-sample loss and its gradient with respect to the scores.

        Parameters
        ----------
        raw_prediction : ndarray of shape (n_samples, 1)
        y : ndarray of shape (n_samples,)
            0 or 1.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
            ``log(1 + exp(z)) - y z``, computed so that it never overflows.
        gradient : ndarray of shape (n_samples, 1), float64
            ``sigma(z) - y``, the lab's ``y_hat - y``.
        """
        return _loss_gradient(raw_prediction, y)

    @staticmethod
    def curvature_along(gradient, y, direction):
        """Per-sample ``d^T H d``: the loss's curvature along score changes d.

        ``gradient`` is the unweighted gradient from :meth:`loss_gradient`,
        from which the probabilities are recovered; H = p (1 - p).
        """
        return _curvature_along(gradient, y, direction)

    @staticmethod
    def predict_proba(raw_prediction):
        z = raw_prediction[:, 0]
        # expit(-z) instead of 1 - expit(z) keeps tiny probabilities accurate.
        return np.column_stack([expit(-z), expit(z)])

    @staticmethod
    def predict_log_proba(raw_prediction):
        z = raw_prediction[:, 0]
        return np.column_stack([log_expit(-z), log_expit(z)])


class MultinomialCrossEntropy:
    """Softmax cross-entropy, ``logsumexp(z) - z[y]``.

    The Hessian of the loss with respect to the scores is
    ``diag(p) - p p^T``, whose largest eigenvalue is at most 1/2.
    """

    curvature_bound = 0.5

    @staticmethod
    def n_outputs(n_classes):
        return n_classes

    @staticmethod
    def loss_gradient(raw_prediction, y):
        """Per-sample loss and its gradient with respect to the scores.

        Parameters
        ----------
        raw_prediction : ndarray of shape (n_samples, n_classes)
        y : ndarray of shape (n_samples,)
            Class indices.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
            ``logsumexp(z) - z[y]``, with the maximum score taken out first.
        gradient : ndarray of shape (n_samples, n_classes), float64
            ``softmax(z) - onehot(y)``.
        """
        return _loss_gradient(raw_prediction, y)

    @staticmethod
    def curvature_along(gradient, y, direction):
        """Per-sample ``d^T H d`` with H = diag(p) - p p^T.

        ``gradient`` is the unweighted gradient from :meth:`loss_gradient`,
        from which the probabilities are recovered.
        """
        return _curvature_along(gradient, y, direction)

    @staticmethod
    def predict_proba(raw_prediction):
        shifted = _shifted_by_max(raw_prediction)
        np.exp(shifted, out=shifted)
        return shifted / shifted.sum(axis=1, keepdims=True)

    @staticmethod
    def predict_log_proba(raw_prediction):
        return _log_softmax(raw_prediction)


def _loss_gradient(raw_prediction, y):
    """The compiled loss the solver's epoch uses, on a float64 copy."""
    gradient = np.array(raw_prediction, dtype=np.float64, order="C")
    loss = loss_gradient_rows(gradient, np.asarray(y, dtype=np.intp))
    return loss, gradient


def _curvature_along(gradient, y, direction):
    return curvature_along_rows(
        np.ascontiguousarray(gradient, dtype=np.float64),
        np.asarray(y, dtype=np.intp),
        np.ascontiguousarray(direction, dtype=np.float64),
    )


def _log_softmax(raw_prediction):
    """Row-wise ``z - log(sum(exp(z)))``, never overflowing.

    The maximum is subtracted before anything else: adding it back after the
    log would lose the log term to rounding for scores near 1e308.
    Hand-written because scipy's general logsumexp costs more in overhead
    than the arithmetic on a mini-batch.
    """
    shifted = _shifted_by_max(raw_prediction)
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


def _shifted_by_max(raw_prediction):
    """Each row's scores minus its largest, the largest itself exactly 0.

    Scores 1e308 apart overflow to -inf when shifted, and exp gives the 0
    they should; an infinite largest score would give inf - inf = NaN, so
    the largest (or the tied largest) is set to 0 outright: the
    probabilities are their limits, shared among the tied largest.
    """
    top = raw_prediction.max(axis=1, keepdims=True)
    with np.errstate(over="ignore", invalid="ignore"):
        shifted = raw_prediction - top
    shifted[raw_prediction == top] = 0.0
    return shifted


def loss_for(n_classes):
    """The loss that models ``n_classes`` classes."""
    return BinaryCrossEntropy() if n_classes == 2 else MultinomialCrossEntropy()
