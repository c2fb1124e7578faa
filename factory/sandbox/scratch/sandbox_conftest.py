"""pytest configuration of the scratch project (copied there as ``conftest.py``).

The sandbox has just migrated the scratch database, so the generated tests run on it
instead of building and migrating a second, test-only database: each test still runs in
a transaction that is rolled back.
"""

import pytest


@pytest.fixture(scope="session")
def django_db_setup() -> None:
    """Use the scratch database as it is (pytest-django's documented override)."""
