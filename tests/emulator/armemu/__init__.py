"""armemu: a local, stateful Azure Resource Manager emulator for tests.

See tests/emulator/README.md.
"""
from .emulator import (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SUBSCRIPTION_ID,
                       DEFAULT_TENANT_ID, Emulator)
from .errors import ArmError
from .registry import ResourceType, action, register

__all__ = ["Emulator", "ArmError", "ResourceType", "register", "action", "DEFAULT_TENANT_ID",
           "DEFAULT_SUBSCRIPTION_ID", "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET"]
