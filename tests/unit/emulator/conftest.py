"""Fixtures for the emulator's own tests: the real azure-identity credential and an azure-core
PipelineClient (BearerTokenCredentialPolicy, connection_verify=CA) talking to the session
emulator, plus a plain ``requests`` session."""
import pytest
import requests

from armemu.testing import ArmClient, sdk_credential, sdk_pipeline


@pytest.fixture(scope="session")
def arm_credential(arm_emulator):
    return sdk_credential(arm_emulator)


@pytest.fixture(scope="session")
def arm_pipeline(arm_emulator, arm_credential):
    return sdk_pipeline(arm_emulator, arm_credential)


@pytest.fixture
def client(arm, arm_pipeline):
    return ArmClient(arm, arm_pipeline)


@pytest.fixture(scope="session")
def _http(arm_emulator):
    s = requests.Session()
    s.trust_env = False  # else REQUESTS_CA_BUNDLE (if set) overrides s.verify
    s.verify = arm_emulator.ca_path
    return s


@pytest.fixture
def http(arm, _http):
    """A plain requests session trusting the emulator's CA."""
    return _http


@pytest.fixture(scope="session")
def _raw_token(arm_emulator, arm_credential):
    return arm_credential.get_token(f"{arm_emulator.url}/.default").token


@pytest.fixture
def token(arm, _raw_token):
    return _raw_token
