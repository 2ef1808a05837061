"""
L1 and elastic net: exact zeros against held-out accuracy
=========================================================

An L1 penalty makes weights exactly zero, not merely small: the penalty
moves each weight toward 0 and stops it there (the cumulative penalty of
Tsuruoka, Tsujii and Ananiadou, as in ``SGDClassifier``), so a weight whose
gradient stays within the penalty stays at 0. A model with most of its weights at
zero is smaller to store (``sparsify()`` turns ``coef_`` into a CSR matrix)
and names the words each class depends on. This example fits
:class:`~sklearn_sgdlogreg.SGDLogisticRegression` with ``penalty="l1"`` and
``penalty="elasticnet"`` (the default ``l1_ratio=0.15``: 15% L1, 85% L2)
along ``alpha`` and draws the fraction of exact zeros in ``coef_`` against
the held-out accuracy.
"""

# %%
# The fits
# --------
# 10,000 documents of the 53-class task (8,000 to train, 2,000 held out),
# ``alpha`` from 1e-7 to 1e-3, each fit stopped by the default rule. With an
# L1 part the model is the last iterate (``average="auto"`` does not average
# it: an average of iterates has almost no exact zeros). An L2 model at the
# same ``alpha`` values is the reference without zeros.
import matplotlib.pyplot as plt
import numpy as np

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import debian_tfidf_split

X_train, X_test, y_train, y_test = debian_tfidf_split(
    "multiclass", n_documents=10_000
)
alphas = np.logspace(-7, -3, 5)
penalties = ["l1", "elasticnet", "l2"]
zeros = {penalty: [] for penalty in penalties}
accuracy = {penalty: [] for penalty in penalties}
print("penalty     alpha    epochs  zeros   held-out accuracy")
for penalty in penalties:
    for alpha in alphas:
        model = SGDLogisticRegression(
            penalty=penalty, alpha=alpha, random_state=0
        )
        model.fit(X_train, y_train)
        if penalty == "l1" and alpha == 1e-6:
            sparse_model = model
        zeros[penalty].append(np.mean(model.coef_ == 0))
        accuracy[penalty].append(model.score(X_test, y_test))
        print(
            f"{penalty:10}  {alpha:7.1e}  {model.n_iter_:6d}  "
            f"{zeros[penalty][-1]:5.3f}  {accuracy[penalty][-1]:.4f}"
        )

# %%
# A sparse model in a sparse matrix
# ---------------------------------
# The L1 model at ``alpha=1e-6``: ``sparsify()`` stores ``coef_`` as CSR, and
# prediction gives the same labels as before.
dense_predictions = sparse_model.predict(X_test)
n_weights = sparse_model.coef_.size
sparse_model.sparsify()
same = np.array_equal(sparse_model.predict(X_test), dense_predictions)
print(
    f"{sparse_model.coef_.nnz} non-zero weights of {n_weights}; "
    f"same predictions: {same}"
)

# %%
# The figure
# ----------
# Left: the fraction of exact zeros grows with ``alpha``, much faster for
# pure L1. Right: each point is one fit, labelled with its ``alpha`` (above
# the point for L1, below for the elastic net); up and to the right is a
# model that is both sparser and more accurate. The L2 fits, without zeros,
# stand at 0.
fig, (left, right) = plt.subplots(
    1, 2, figsize=(11, 4.8), layout="constrained"
)
styles = {"l1": "o-", "elasticnet": "s-", "l2": "^:"}
labels = {
    "l1": 'penalty="l1"',
    "elasticnet": 'penalty="elasticnet" (l1_ratio=0.15)',
    "l2": 'penalty="l2"',
}
for penalty in penalties:
    left.plot(alphas, zeros[penalty], styles[penalty], label=labels[penalty])
    # L2 has no zeros: its points stand on x = 0, not joined by a line.
    right.plot(
        zeros[penalty],
        accuracy[penalty],
        styles[penalty][0],
        linestyle="none" if penalty == "l2" else "-",
        label=labels[penalty],
    )
    if penalty != "l2":
        above = penalty == "l1"
        for alpha, x, y in zip(alphas, zeros[penalty], accuracy[penalty]):
            right.annotate(
                f"{alpha:.0e}".replace("e-0", "e-"),
                (x, y),
                textcoords="offset points",
                xytext=(0, 7) if above else (0, -13),
                ha="center",
                fontsize=8,
            )
left.set_xscale("log")
left.set_xlabel("alpha (log scale)")
left.set_ylabel("fraction of exact zeros in coef_")
left.set_title("Sparsity along alpha")
right.set_xlabel("fraction of exact zeros in coef_")
right.set_ylabel("held-out accuracy (2,000 documents)")
right.set_title("Accuracy against sparsity")
right.margins(y=0.08)
for ax, where in [(left, "center right"), (right, "lower center")]:
    ax.grid(True, alpha=0.3)
    ax.legend(loc=where)
fig.suptitle("53 Debian sections, 8,000 training documents")
plt.show()

# %%
# What the figure shows
# ---------------------
# At weak ``alpha`` an L1 model keeps the accuracy of the L2 model with most
# of its weights at exactly zero; the elastic net, with only 15% L1, keeps
# fewer zeros at the same ``alpha``. At strong ``alpha`` both lose accuracy,
# as the L2 model does. The defaults solve an L1 problem to a good model,
# not to the last digits of its objective: for that, see the L1 section of
# the :doc:`features page <../features>`.
