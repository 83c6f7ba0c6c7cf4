"""Loads the compiled core ``corrclust._core``.

The extension links HiGHS (``libhighs``) from the highsbox wheel, which corrclust depends on; the
wheels leave that library out (docs/packaging.md). An installed extension finds it through its
RPATH (``$ORIGIN``/``@loader_path`` + ``../highsbox/highs_dist/lib``), which works when corrclust and
highsbox sit in the same site-packages. It does not work when they do not: an editable install
(the extension stays in ``build/``), a source checkout on ``PYTHONPATH`` with a copied extension,
``pip install --target`` into separate folders, and always on Windows (no RPATH there). Then the
first import fails, the library is loaded from wherever Python imports highsbox (globally on
Linux/macOS, so the dynamic linker resolves the extension's reference to it by name; on Windows by
adding its DLL folder), and the import is tried again. tests/test_package.py and
tools/build_wheel.sh exercise that second path.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: True when the first import failed and HiGHS had to be loaded from the highsbox package.
preloaded = False


def _preload_highs() -> None:
    import highsbox

    dist = highsbox.highs_dist_dir()
    if sys.platform == "win32":  # pragma: no cover - not run on this project's Linux CI
        os.add_dll_directory(os.path.join(dist, "bin"))
        return
    name = "libhighs.dylib" if sys.platform == "darwin" else "libhighs.so"
    ctypes.CDLL(os.path.join(dist, "lib", name), mode=ctypes.RTLD_GLOBAL)


def _built() -> bool:
    """Whether a compiled ``_core`` sits beside this module (a source tree that was never built has
    only the stub ``_core.pyi``)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return any(n.startswith("_core.") and n.endswith((".so", ".pyd")) for n in os.listdir(here))


try:
    from . import _core
except ImportError:
    if not _built():
        # PYTHONPATH=python in a fresh clone (as some benchmark docstrings run it) shadowed the installed
        # package and ended in "cannot import name '_core'" (audit qa15)
        raise ImportError(
            f"corrclust's compiled core is not in {os.path.dirname(os.path.abspath(__file__))}, a source tree "
            "that was not built: use the installed corrclust (pip install .; leave this folder off PYTHONPATH)"
        ) from None
    _preload_highs()
    preloaded = True
    from . import _core

__all__ = ["_core", "preloaded"]
