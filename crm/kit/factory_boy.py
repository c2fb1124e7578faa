"""factory-boy, importable whatever shadows its package name.

The project's own Django app is called ``factory`` and, being first on sys.path, hides
factory-boy's top-level package of the same name. factory-boy only uses relative imports,
so it works the same when loaded under the name ``factory_boy``. Every module that needs
factory-boy (the base CRM's factories and every compiled app's) writes
``from crm.kit.factory_boy import factory``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def _load_factory_boy() -> ModuleType:
    if "factory_boy" in sys.modules:
        return sys.modules["factory_boy"]
    distribution = importlib.metadata.distribution("factory_boy")
    init = Path(str(distribution.locate_file("factory/__init__.py")))
    spec = importlib.util.spec_from_file_location(
        "factory_boy", init, submodule_search_locations=[str(init.parent)]
    )
    if spec is None or spec.loader is None:
        raise ImportError("factory-boy is not installed; install the project's dependencies.")
    module = importlib.util.module_from_spec(spec)
    sys.modules["factory_boy"] = module
    spec.loader.exec_module(module)
    importlib.import_module("factory_boy.django")
    return module


factory = _load_factory_boy()
