import pytest

from tests.testplugin import plugin as testplugin


@pytest.fixture(scope="session")
def gonghui_extra_plugins():
    return [testplugin]
