import asyncio
from pathlib import Path

import asyncpg
import pytest

from sfa.db.migrator import SQL_DIR, MigrationError, discover, migrate


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


async def fetch(url: str, query: str) -> list:
    conn = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await conn.fetch(query)]
    finally:
        await conn.close()


ORDERED = {
    "0002_second.sql": "INSERT INTO trail (step) VALUES ('second');",
    "0010_tenth.sql": "INSERT INTO trail (step) VALUES ('tenth');",
    "0001_first.sql": "CREATE TABLE trail (n serial PRIMARY KEY, step text NOT NULL);"
                      "INSERT INTO trail (step) VALUES ('first');",
}


async def test_applies_in_numeric_order_and_records_each(blank_database_url, tmp_path):
    applied = await migrate(blank_database_url, write(tmp_path / "sql", ORDERED))

    assert [m.path.name for m in applied] == ["0001_first.sql", "0002_second.sql", "0010_tenth.sql"]
    assert await fetch(blank_database_url, "SELECT step FROM trail ORDER BY n") == [
        ("first",), ("second",), ("tenth",)]
    assert await fetch(blank_database_url, "SELECT version, name FROM schema_migrations ORDER BY version") == [
        (1, "first"), (2, "second"), (10, "tenth")]


async def test_running_again_is_a_no_op(blank_database_url, tmp_path):
    directory = write(tmp_path / "sql", ORDERED)
    await migrate(blank_database_url, directory)

    assert await migrate(blank_database_url, directory) == []
    assert len(await fetch(blank_database_url, "SELECT * FROM trail")) == 3


async def test_a_new_file_is_applied_on_the_next_run(blank_database_url, tmp_path):
    directory = write(tmp_path / "sql", ORDERED)
    await migrate(blank_database_url, directory)
    write(directory, {"0011_more.sql": "INSERT INTO trail (step) VALUES ('eleventh');"})

    assert [m.version for m in await migrate(blank_database_url, directory)] == [11]


async def test_two_migrators_at_once_apply_each_migration_exactly_once(blank_database_url, tmp_path):
    directory = write(tmp_path / "sql", {
        "0001_slow.sql": "CREATE TABLE trail (step text); SELECT pg_sleep(0.5); INSERT INTO trail VALUES ('one');",
        "0002_next.sql": "INSERT INTO trail VALUES ('two');",
    })

    first, second = await asyncio.gather(migrate(blank_database_url, directory), migrate(blank_database_url, directory))

    assert sorted([len(first), len(second)]) == [0, 2]
    assert await fetch(blank_database_url, "SELECT step FROM trail") == [("one",), ("two",)]


async def test_a_broken_migration_rolls_back_and_names_file_and_error(blank_database_url, tmp_path):
    directory = write(tmp_path / "sql", {
        "0001_fine.sql": "CREATE TABLE kept (id int);",
        "0002_broken.sql": "CREATE TABLE half_done (id int); INSERT INTO no_such_table VALUES (1);",
        "0003_after.sql": "CREATE TABLE never (id int);",
    })

    with pytest.raises(MigrationError) as raised:
        await migrate(blank_database_url, directory)

    assert raised.value.filename == "0002_broken.sql"
    assert "0002_broken.sql" in str(raised.value)
    assert 'relation "no_such_table" does not exist' in str(raised.value)
    tables = await fetch(blank_database_url,
                         "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    assert tables == [("kept",), ("schema_migrations",)]
    assert await fetch(blank_database_url, "SELECT version FROM schema_migrations") == [(1,)]


async def test_after_a_fix_the_broken_migration_applies(blank_database_url, tmp_path):
    directory = write(tmp_path / "sql", {"0001_broken.sql": "SELECT * FROM missing;"})
    with pytest.raises(MigrationError):
        await migrate(blank_database_url, directory)
    write(directory, {"0001_broken.sql": "CREATE TABLE fixed (id int);"})

    assert [m.version for m in await migrate(blank_database_url, directory)] == [1]


@pytest.mark.parametrize("name", ["1_short.sql", "0001-dash.sql", "0001_Upper.sql"])
def test_a_misnamed_file_is_refused(tmp_path, name):
    write(tmp_path, {name: "SELECT 1;"})
    with pytest.raises(MigrationError, match="expected a name like"):
        discover(tmp_path)


def test_a_version_used_twice_is_refused(tmp_path):
    write(tmp_path, {"0001_a.sql": "SELECT 1;", "0001_b.sql": "SELECT 1;"})
    with pytest.raises(MigrationError, match=r"used twice: \[1\]"):
        discover(tmp_path)


def test_the_project_migrations_are_well_formed():
    assert discover(SQL_DIR)[0].version == 1
