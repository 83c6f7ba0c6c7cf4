"""Loads the compiled core ``corrclust._core``.

The extension links HiGHS (``libhighs``) from the highsbox wheel. Installed wheels find it through
their RPATH; editable installs keep the extension in ``build/`` where that relative RPATH does not
reach, so on an ImportError the library is preloaded globally and the import is tried again.
"""

from __future__ import annotations

import ctypes
import os
import sys


def _preload_highs() -> None:
    import highsbox

    lib_dir = highsbox.highs_lib_dir() if hasattr(highsbox, "highs_lib_dir") else os.path.join(
        highsbox.highs_dist_dir(), "lib"
    )
    if sys.platform == "win32":  # pragma: no cover - untested platform
        os.add_dll_directory(os.path.join(highsbox.highs_dist_dir(), "bin"))
        return
    name = "libhighs.dylib" if sys.platform == "darwin" else "libhighs.so"
    ctypes.CDLL(os.path.join(lib_dir, name), mode=ctypes.RTLD_GLOBAL)


try:
    from . import _core
except ImportError:
    _preload_highs()
    from . import _core

__all__ = ["_core"]
