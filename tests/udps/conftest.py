"""An app on the real Backend with the basic users alice and bob, on SQLite and PostgreSQL."""

from tests.api.conftest import check_spec, openapi, openapi_dict  # noqa: F401 - fixtures
from tests.support.apps import alice, bob, client, settings  # noqa: F401 - fixtures
