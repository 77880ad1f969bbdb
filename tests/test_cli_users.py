"""`goodwill users`: the first owner, roles and password resets from a shell."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import create_engine

from goodwill.store.accounts import Accounts, LoginRefused, Role, Throttle
from tests.test_listen import cli  # noqa: F401  (the fixture)


def test_users_add_list_and_reset(cli: Any, database_url: str) -> None:  # noqa: F811
    from datetime import timedelta

    cli("workspaces", "add", "Acme")
    made = cli("users", "add", "ana@acme.example", "--role", "admin", "-w", "Acme", "--generate")
    password = re.search(r"Password: (\S+)", made.output)
    assert password
    listed = cli("users", "list", "--json").output
    assert '"roles": "Acme: admin"' in listed
    assert cli("users", "add", "ana@acme.example", "--generate", ok=False).exit_code == 1
    accounts = Accounts(create_engine(database_url))
    throttle = Throttle(5, timedelta(minutes=15))
    user = accounts.authenticate("ana@acme.example", password.group(1), None, "t", throttle)
    assert accounts.role(user, accounts.workspaces_of(user)[0][0].id) == Role.ADMIN
    reset = cli("users", "password", "ana@acme.example", "--generate").output
    new = re.search(r"Password: (\S+)", reset)
    assert new and new.group(1) != password.group(1)
    try:
        accounts.authenticate("ana@acme.example", password.group(1), None, "t", throttle)
    except LoginRefused:
        pass
    else:
        raise AssertionError("the old password still works")
    accounts.engine.dispose()
