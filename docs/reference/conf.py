"""Sphinx configuration of the API reference (built from the docstrings; see the README's docs section)."""

from __future__ import annotations

import importlib.util

project = "corrclust"
author = "corrclust developers"

extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "sphinx.ext.napoleon"]

# The reference documents the installed package (or the source tree on PYTHONPATH): autodoc imports it.
autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
# Signatures show the annotations as written; the types are described in the docstrings.
autodoc_typehints = "signature"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
templates_path = ["_templates"]
exclude_patterns = ["_build"]

# PyTorch is an optional extra: without it the twin-network modules are documented against a stand-in.
autodoc_mock_imports = [] if importlib.util.find_spec("torch") else ["torch", "torchvision"]

html_theme = "alabaster"
html_title = "corrclust API reference"


def _skip_metadata_routing(app, what, name, obj, skip, options):
    """Leave out the ``set_fit_request``-style methods scikit-learn adds to an estimator whose ``fit``
    takes extra arguments (must_link, cannot_link): their docstrings are scikit-learn's and cite its own
    glossary, which this build cannot resolve."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_routing)
