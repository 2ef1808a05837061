"""
Calibration: multinomial against one-vs-rest probabilities
==========================================================

With three or more classes :class:`~sklearn_sgdlogreg.SGDLogisticRegression`
fits one softmax model, whose probabilities are the model's own estimate of
each class. ``SGDClassifier(loss="log_loss")`` fits one binary model per
class (one-vs-rest) and, to predict probabilities, divides each binary
model's probability by their sum over the classes. This example asks of both
on the 53-class Debian task: when the model gives its top class probability
0.8, is that class right 80% of the time?

The reliability diagram answers it for the top class: the documents are
grouped by the probability of the predicted class (the confidence), and
each group's accuracy is drawn against its mean confidence. A calibrated
model lies on the diagonal. The top class is the one a user acts on, and
every held-out document has one; with 53 classes, a curve per class would
rest on a few dozen positives each.
"""

# %%
# Two models at two penalties
# ---------------------------
# 30,000 documents (24,000 to train, 6,000 held out). Both models are fitted
# at ``alpha=1e-5`` and at ``alpha=1e-6``, the value the grid search of
# :ref:`the validation-curve example
# <sphx_glr_auto_examples_plot_3_grid_search_alpha.py>` picks on its smaller
# sample: the penalty shrinks the scores towards
# zero, and with them the probabilities towards uniform, so how well a
# model is calibrated depends on it as much as on the model.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import debian_tfidf_split

X_train, X_test, y_train, y_test = debian_tfidf_split(
    "multiclass", n_documents=30_000
)
alphas = [1e-5, 1e-6]


def make_models(alpha):
    return {
        "SGDLogisticRegression (softmax)": SGDLogisticRegression(
            alpha=alpha, random_state=0
        ),
        'SGDClassifier(loss="log_loss") (one-vs-rest)': SGDClassifier(
            loss="log_loss", alpha=alpha, random_state=0
        ),
    }


# %%
# Confidence and correctness of the top class
# -------------------------------------------
# ``calibration_curve`` takes a binary outcome and a probability: here
# "the predicted class is right" and the probability given to it, in ten
# bins of equal width. The expected calibration error (ECE) is the mean gap
# between a bin's accuracy and its mean confidence, weighted by the share of
# documents in the bin. The bins are numbered as ``calibration_curve``
# numbers them, so that their counts line up with its points.
n_bins = 10
edges = np.linspace(0.0, 1.0, n_bins + 1)
results = {}
for alpha in alphas:
    for name, model in make_models(alpha).items():
        model.fit(X_train, y_train)
        proba = model.predict_proba(X_test)
        confidence = proba.max(axis=1)
        correct = model.classes_[proba.argmax(axis=1)] == y_test
        accuracy_in_bin, confidence_in_bin = calibration_curve(
            correct, confidence, n_bins=n_bins, strategy="uniform"
        )
        bin_ids = np.searchsorted(edges[1:-1], confidence)
        counts = np.bincount(bin_ids, minlength=n_bins)
        gap = np.bincount(
            bin_ids, weights=correct - confidence, minlength=n_bins
        )
        ece = np.abs(gap).sum() / len(bin_ids)
        results[alpha, name] = (
            accuracy_in_bin,
            confidence_in_bin,
            counts[counts > 0],
            confidence,
        )
        print(
            f"alpha={alpha:g} {name}: accuracy {correct.mean():.4f}, "
            f"mean confidence {confidence.mean():.4f}, log-loss "
            f"{log_loss(y_test, proba, labels=model.classes_):.4f}, "
            f"ECE {ece:.4f}"
        )

# %%
# The reliability diagrams
# ------------------------
# Top: accuracy against confidence, one point per non-empty bin; a hollow
# marker is a bin of fewer than 50 documents, whose accuracy is uncertain by
# more than 0.07. Bottom: how many held-out documents fall in each bin.
fig, axes = plt.subplots(
    2,
    2,
    figsize=(11, 7.5),
    sharex=True,
    sharey="row",
    height_ratios=[3, 1],
    layout="constrained",
)
for column, alpha in enumerate(alphas):
    top, bottom = axes[:, column]
    top.plot([0, 1], [0, 1], "k:", label="calibrated")
    for name, marker in zip(make_models(alpha), ["o", "s"]):
        accuracy_in_bin, confidence_in_bin, counts, confidence = results[
            alpha, name
        ]
        (line,) = top.plot(
            confidence_in_bin, accuracy_in_bin, marker=marker, label=name
        )
        thin = counts < 50
        top.plot(
            confidence_in_bin[thin],
            accuracy_in_bin[thin],
            marker,
            color=line.get_color(),
            markerfacecolor="white",
        )
        bottom.hist(
            confidence,
            bins=edges,
            histtype="step",
            linewidth=2,
            color=line.get_color(),
        )
    top.set_title(f"alpha={alpha:g}")
    top.grid(True, alpha=0.3)
    bottom.grid(True, alpha=0.3)
    bottom.set_xlabel("confidence: probability of the predicted class")
axes[0, 0].set_ylabel("accuracy of the predicted class")
axes[1, 0].set_ylabel("documents per bin")
axes[0, 0].legend(loc="lower right")
fig.suptitle(
    "Top-class reliability, 53 Debian sections, 6,000 held-out documents"
)
plt.show()

# %%
# What the figure shows
# ---------------------
# At ``alpha=1e-5`` both models are under-confident: their points lie above
# the diagonal, right more often than their probabilities say, because the
# penalty holds the scores small. The one-vs-rest model is more so: for the
# same accuracy (0.81) its mean confidence is 0.63 against the softmax
# model's 0.70, it seldom gives its top class more than 0.9 (the last bin of
# the histogram), and its ECE is 0.17 against 0.10. At ``alpha=1e-6``, the
# lower held-out log-loss of the two for both models, both lie close to the
# diagonal (ECE 0.02 each, mean confidence within 0.01 of accuracy), and the
# softmax model has the lower log-loss (0.727 against 0.763). Tuning
# ``alpha`` for log-loss is what calibrates
# either model here; a model fitted with a stronger penalty for other
# reasons needs recalibrating, the one-vs-rest one more than the softmax one.
