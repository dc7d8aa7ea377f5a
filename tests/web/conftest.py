"""Page tests with the Django test client; the playground's CA goes to a temporary directory."""
from __future__ import annotations

import pytest

from clusters import config


@pytest.fixture(scope="session")
def ca_dir(tmp_path_factory):
    # serving_files() and ca_pem() are cached per process: empty the caches around these tests.
    config.serving_files.cache_clear()
    config.ca_pem.cache_clear()
    yield tmp_path_factory.mktemp("ca")
    config.serving_files.cache_clear()
    config.ca_pem.cache_clear()


@pytest.fixture(autouse=True)
def _temporary_ca(settings, ca_dir):
    settings.PLAYGROUND = {**settings.PLAYGROUND, "CA_DIR": ca_dir}
