"""
Tuning ``alpha`` with ``GridSearchCV``: the validation curve
============================================================

``alpha`` sets the strength of the penalty and, through the default
learning rate, the size of the steps; the other defaults were chosen to need
no tuning (:doc:`../defaults`). The default ``alpha=1e-4`` over-regularises
tf-idf text with many classes. This example searches
``alpha`` on a grid with :class:`~sklearn.model_selection.GridSearchCV`,
with the vectorizer inside the pipeline so that each fold's vocabulary and
idf weights come from its own training part, and draws the validation curve:
the cross-validated log-loss against ``alpha``, beside the training one.
"""

# %%
# The search
# ----------
# 8,000 documents of the 53-class task (a stratified subsample, so that the
# example runs in well under a minute), 2,000 of them held out for a final
# check; 3-fold cross-validation on the other 6,000, scored by log-loss (and
# accuracy, for the table), over ``alpha`` from 1e-7 to 1e-3.
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_sgdlogreg import SGDLogisticRegression
from sklearn_sgdlogreg.datasets import debian_task

texts, y = debian_task("multiclass")
texts, _, y, _ = train_test_split(
    texts, y, train_size=8_000, stratify=y, random_state=0
)
texts_train, texts_test, y_train, y_test = train_test_split(
    texts, y, test_size=2_000, stratify=y, random_state=0
)

pipeline = make_pipeline(
    TfidfVectorizer(min_df=2, sublinear_tf=True),
    SGDLogisticRegression(random_state=0),
)
alphas = np.logspace(-7, -3, 5)
search = GridSearchCV(
    pipeline,
    {"sgdlogisticregression__alpha": alphas},
    scoring={"log_loss": "neg_log_loss", "accuracy": "accuracy"},
    refit="log_loss",
    cv=3,
    return_train_score=True,
)
tic = time.perf_counter()
search.fit(texts_train, y_train)
print(f"{len(alphas) * 3 + 1} fits in {time.perf_counter() - tic:.1f} s")

results = search.cv_results_
print(" alpha    train log-loss  validation log-loss  validation accuracy")
for i, alpha in enumerate(alphas):
    print(
        f"{alpha:7.1e}  {-results['mean_train_log_loss'][i]:14.4f}"
        f"  {-results['mean_test_log_loss'][i]:8.4f} ± "
        f"{results['std_test_log_loss'][i]:.4f}"
        f"  {results['mean_test_accuracy'][i]:19.4f}"
    )

# %%
# The best ``alpha`` on the held-out documents
# --------------------------------------------
# The search refits the pipeline with the best ``alpha`` on all 6,000
# training documents; the 2,000 held-out documents were seen by no fold.
# Beside it, the same pipeline at the default ``alpha=1e-4``.
best_alpha = search.best_params_["sgdlogisticregression__alpha"]
default = make_pipeline(
    TfidfVectorizer(min_df=2, sublinear_tf=True),
    SGDLogisticRegression(random_state=0),
).fit(texts_train, y_train)
for name, model in [
    (f"best alpha {best_alpha:.0e}", search),
    ("alpha 1e-4", default),
]:
    loss = log_loss(
        y_test, model.predict_proba(texts_test), labels=model.classes_
    )
    accuracy = accuracy_score(y_test, model.predict(texts_test))
    print(f"{name}: held-out log-loss {loss:.4f}, accuracy {accuracy:.4f}")

# %%
# The validation curve
# --------------------
# The shaded band, one standard deviation of the three folds' scores, is
# narrower than the markers here (at most 0.022 on the validation folds).
# Strong penalties (right) underfit: training and validation log-loss are
# both high. Weak penalties (left) fit the training folds ever closer while
# the validation log-loss stops improving: it is lowest at 1e-6 and
# slightly higher at 1e-7.
fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
for part, marker in [("train", "o"), ("test", "s")]:
    mean = -results[f"mean_{part}_log_loss"]
    std = results[f"std_{part}_log_loss"]
    label = "training folds" if part == "train" else "validation folds"
    ax.plot(alphas, mean, marker=marker, label=label)
    ax.fill_between(alphas, mean - std, mean + std, alpha=0.2)
ax.axvline(
    best_alpha,
    color="k",
    linestyle="--",
    label=f"best alpha = {best_alpha:.1e}",
)
ax.axvline(1e-4, color="grey", linestyle=":", label="default alpha = 1e-4")
ax.set_xscale("log")
ax.set_xlabel("alpha (log scale)")
ax.set_ylabel("log-loss (mean of 3 folds)")
ax.set_title("SGDLogisticRegression on 53 Debian sections, 6,000 documents")
ax.grid(True, which="both", alpha=0.3)
ax.legend()
plt.show()
