"""The Postgres roles and databases: a password for `postgres`, and per service an owner and a runtime role."""

from __future__ import annotations

from collections.abc import Mapping

from .common import SERVICES


def provision_sql(service: str, password: str, owner_password: str) -> tuple[list[str], list[str]]:
    """A service's database, its owner role `<service>_owner` and its runtime role `<service>`.

    Returns the statements to run in the maintenance database and those to run in the service's own database
    afterwards (deploy/compose/postgres/init-databases.sh does the same for compose). The owner owns the database
    and its public schema and runs the migrations; the runtime role may connect to this database only, use the
    schema, and read and write what the owner creates there, but not create, alter or drop anything (no CREATE on
    the schema, no TEMPORARY). Nobody else may connect.
    """
    owner = f"{service}_owner"
    cluster = [
        f"CREATE ROLE \"{owner}\" LOGIN PASSWORD '{owner_password}'",
        f"CREATE ROLE \"{service}\" LOGIN PASSWORD '{password}'",
        f'CREATE DATABASE "{service}" OWNER "{owner}"',
        f'REVOKE ALL ON DATABASE "{service}" FROM PUBLIC',
        f'GRANT CONNECT ON DATABASE "{service}" TO "{service}"',
    ]
    database = [  # PostgreSQL 15: schema public belongs to the database owner; PUBLIC cannot create in it
        "REVOKE ALL ON SCHEMA public FROM PUBLIC",
        f'GRANT USAGE ON SCHEMA public TO "{service}"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public '
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{service}"',
        f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public '
        f'GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO "{service}"',
    ]
    return cluster, database


def provision_script(admin: str, services: Mapping[str, str], owners: Mapping[str, str]) -> str:
    """The psql script run once on a new cluster: `admin` is the superuser's password, the rest per service."""
    sql = [f"ALTER ROLE postgres PASSWORD '{admin}';"]
    sql += ['REVOKE CONNECT, TEMPORARY ON DATABASE "postgres", "template1" FROM PUBLIC;']
    for service in SERVICES:
        cluster, database = provision_sql(service, services[service], owners[service])
        sql += [f"{statement};" for statement in cluster]
        sql += [f'\\connect "{service}"', *(f"{statement};" for statement in database), '\\connect "postgres"']
    return "\n".join(sql)
