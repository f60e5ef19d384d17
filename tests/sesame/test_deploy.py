"""Production settings pass `check --deploy`; without SESAME_DEV nothing insecure is defaulted."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SESAME_DEV", "DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SESAME_DEV="0",
        ALLOWED_HOSTS="sesame.example.org",
        SECRET_KEY=secrets.token_hex(32),
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = manage("check", SESAME_DEV="0", ALLOWED_HOSTS="sesame.example.org")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_a_short_secret_key() -> None:
    result = manage("check", SESAME_DEV="0", ALLOWED_HOSTS="x", SECRET_KEY="short")
    assert result.returncode != 0
    assert "at least 50 characters" in result.stderr


def test_only_postgresql_is_accepted() -> None:
    result = manage("check", SESAME_DEV="1", DATABASE_URL="sqlite:///tmp.db")
    assert result.returncode != 0
    assert "PostgreSQL" in result.stderr


def test_check_deploy_needs_no_migrated_database() -> None:
    """A new machine runs `check --deploy` before anything is migrated: the API schema (which
    the check builds) reads reference data from its seed, not from tables that do not exist."""
    import psycopg2
    from django.conf import settings
    from psycopg2 import sql

    db = settings.DATABASES["default"]
    params = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"],
    }
    name = f"sesame_unmigrated_{os.getpid()}"
    admin = psycopg2.connect(dbname="postgres", **params)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        result = manage(
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
            SESAME_DEV="0",
            ALLOWED_HOSTS="sesame.example.org",
            SECRET_KEY=secrets.token_hex(32),
            DATABASE_URL=(
                f"postgres://{params['user']}:{params['password']}@{params['host']}:"
                f"{params['port']}/{name}"
            ),
        )
    finally:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
