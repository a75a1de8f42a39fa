"""pytest fixtures: ``arm_emulator`` (session) and ``arm`` (the same emulator, reset per test).

Enable with ``pytest_plugins = ["armemu.pytest_plugin"]`` (tests/conftest.py does).
"""
import pytest

from .emulator import Emulator


@pytest.fixture(scope="session")
def arm_emulator(tmp_path_factory):
    """One emulator for the whole session, time_scale 0 (operations finish at once)."""
    emu = Emulator(workdir=tmp_path_factory.mktemp("armemu"), port=0, time_scale=0.0)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def arm(arm_emulator):
    """The session emulator, reset (no resources, faults, log; time_scale 0) for this test."""
    arm_emulator.reset()
    yield arm_emulator
