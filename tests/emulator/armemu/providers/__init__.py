"""Resource type definitions, one module per provider area.

Importing this package registers every type. To add a provider module, create it here and
add its name to ``MODULES``.
"""
import importlib

MODULES = ("resources", "network", "privatedns")

for _name in MODULES:
    importlib.import_module(f"{__name__}.{_name}")
