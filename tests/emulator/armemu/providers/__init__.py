"""Resource type definitions, one module per provider area.

Importing this package registers every type: every module in this folder is
imported, so adding a provider is adding a file here.
"""
import importlib
import pkgutil

MODULES = tuple(sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")))

for _name in MODULES:
    importlib.import_module(f"{__name__}.{_name}")
