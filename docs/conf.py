"""Sphinx configuration of the sklearn-sgdlogreg documentation.

Build from the repository's top folder (the examples run during the build):

    pip install -e ".[docs]" && python -m sphinx -W -b html docs docs/_build/html
"""

import os

# The gallery runs in this process, on one OpenMP thread: on a machine whose
# cores are busy with other work, OpenMP threads that wait for each other at
# every batch make the build many times slower, and SGDLogisticRegression
# fits the same model, to the bit, at any thread count. Set before the first
# import of a library that starts OpenMP.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import sklearn_sgdlogreg

project = "sklearn-sgdlogreg"
author = "the sklearn-sgdlogreg developers"
copyright = "the sklearn-sgdlogreg developers, BSD-3-Clause"
version = release = sklearn_sgdlogreg.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "examples"]
templates_path = ["_templates"]

# The user guide is Markdown; $...$ and $$...$$ are math, rendered by MathJax.
myst_enable_extensions = ["dollarmath", "amsmath"]
# The pages put display math ($$...$$) inside paragraphs, as GitHub reads it.
myst_dmath_double_inline = True
myst_heading_anchors = 3

# API reference: one page per public object, written by autosummary from the
# numpydoc docstrings. The class template lists the methods itself.
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False

# "fit()" rather than "SGDLogisticRegression.fit()" in the page's contents.
toc_object_entries_show_parents = "hide"

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-sgdlogreg {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_show_sourcelink = False
# The user guide's pages have wide tables and equations: no left sidebar
# there (the navigation bar and the previous/next links lead between them).
html_sidebars = {
    page: []
    for page in [
        "derivation", "defaults", "comparison", "features", "export", "scaling"
    ]
}
html_static_path = ["_static"]
html_css_files = ["custom.css"]

# The gallery: every docs/examples/plot_*.py is run during the build, and its
# figures and output are written into docs/auto_examples/.
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    # plot_1_... to plot_6_...: from the speed comparison to a synthetic
    # out-of-core stream.
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sklearn_sgdlogreg",),
    "backreferences_dir": "api/generated/backreferences",
    "reference_url": {"sklearn_sgdlogreg": None},
    "abort_on_example_error": True,
    "min_reported_time": 0,
    "remove_config_comments": True,
}
