"""The standard library's ``mailbox`` module, loaded by path.

This package is itself named ``mailbox``, so ``import mailbox`` inside the project
means this package, never the standard module.  Reading mbox files and Maildirs
needs the standard one; it is loaded here under another name from the standard
library's own folder.
"""

from __future__ import annotations

import importlib.util
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

_NAME = "_stdlib_mailbox"


def load() -> ModuleType:
    """Return the standard library's mailbox module (loaded once)."""
    if _NAME in sys.modules:
        return sys.modules[_NAME]
    path = Path(sysconfig.get_paths()["stdlib"]) / "mailbox.py"
    spec = importlib.util.spec_from_file_location(_NAME, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    spec.loader.exec_module(module)
    return module
