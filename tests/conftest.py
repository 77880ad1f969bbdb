"""Shared fixtures: a migrated store on SQLite and on a real PostgreSQL server, per test.

Tests that take ``repo`` (or ``engine``) run twice, once per database. PostgreSQL comes from
``GOODWILL_TEST_POSTGRES_URL`` or is started here from the machine's binaries; when neither is
possible its tests are skipped, unless ``GOODWILL_REQUIRE_POSTGRES=1`` (as in CI), which makes
that a failure.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from goodwill.settings import Settings
from goodwill.store.db import create_store_engine
from goodwill.store.migrate import upgrade
from goodwill.store.repository import Repository
from tests.pgserver import PostgresServer, find_pg_bin

_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    url = os.environ.get("GOODWILL_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    bin_dir = find_pg_bin()
    if bin_dir is None:
        if os.environ.get("GOODWILL_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (GOODWILL_REQUIRE_POSTGRES=1) but not installed")
        pytest.skip("PostgreSQL binaries not found; install Debian's postgresql to run these")
    server = PostgresServer(bin_dir)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> str:
    """A database migrated once; each test copies it (CREATE DATABASE … TEMPLATE)."""
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    name = f"gw_template_{os.getpid()}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine = create_store_engine(str(make_url(postgres_admin_url).set(database=name)))
    upgrade(engine)
    engine.dispose()
    admin.dispose()
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "goodwill.db"
    engine = create_store_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "goodwill.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"gw_test_{os.getpid()}_{next(_counter)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {template_name}"))
    try:
        yield str(make_url(admin_url).set(database=name))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_store_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def repo(engine: Engine) -> Repository:
    return Repository(engine)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, ingest_batch_size=50)
