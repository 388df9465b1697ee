"""PostgreSQL databases for the tests and the demo, cloned from a NetBox-only template.

Migrating NetBox from nothing takes 4–9 minutes (README "Cost"); cloning a database takes under a second.
So NetBox's migrations run once per NetBox version into a *template* database
(``nbhh_template_<version>``), and every test session (and the demo's first start)
clones it and then applies only the plugin's own migrations.

The template is built by ``netbox migrate`` in a subprocess with the plugin disabled
(``HEDGEHOG_WITHOUT_PLUGIN=1``) into a temporary database that is renamed to the final
name only when migrate succeeded, so a half-built template is never used. A PostgreSQL
advisory lock makes concurrent pytest runs (or a run and ``dev/demo``) wait for one build
instead of racing.

Connection parameters come from the same ``HEDGEHOG_DB_*`` variables as
``tests/netbox_configuration.py``; the connecting role must be allowed to create databases.

Command line (used by ``dev/demo``)::

    python -m tests.database template                        # ensure it, print its name
    python -m tests.database clone NAME [--owner ROLE] [--keep-existing]
"""

import argparse
import os
import re
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import psycopg
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parent.parent
# Any constant 64-bit key; all template builds and clones of this project share it.
ADVISORY_LOCK_KEY = 0x6E626868  # "nbhh"


def log(message):
    print(f'[database] {message}', file=sys.stderr, flush=True)


def template_name():
    """One template per NetBox version, e.g. ``nbhh_template_4_7_3``."""
    return 'nbhh_template_' + re.sub(r'[^0-9a-zA-Z]+', '_', version('netbox')).lower()


def connect(dbname='postgres'):
    """An autocommit connection as the configured role (to the maintenance DB by default)."""
    return psycopg.connect(
        dbname=dbname,
        host=os.environ.get('HEDGEHOG_DB_HOST', '127.0.0.1'),
        port=os.environ.get('HEDGEHOG_DB_PORT', '5432'),
        user=os.environ.get('HEDGEHOG_DB_USER', 'postgres'),
        password=os.environ.get('HEDGEHOG_DB_PASSWORD', '') or None,
        autocommit=True,
    )


def database_exists(conn, name):
    return conn.execute('SELECT 1 FROM pg_database WHERE datname = %s', [name]).fetchone() is not None


def drop_database(conn, name):
    """Drop ``name`` if present, disconnecting leftover sessions (e.g. a killed worker's)."""
    conn.execute(sql.SQL('DROP DATABASE IF EXISTS {} WITH (FORCE)').format(sql.Identifier(name)))


class _Locked:
    """Session-level advisory lock held on ``conn`` for the duration of a ``with`` block."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        if not self.conn.execute('SELECT pg_try_advisory_lock(%s)', [ADVISORY_LOCK_KEY]).fetchone()[0]:
            log('another process is building or cloning the template; waiting for it ...')
            self.conn.execute('SELECT pg_advisory_lock(%s)', [ADVISORY_LOCK_KEY])
        return self.conn

    def __exit__(self, *exc):
        self.conn.execute('SELECT pg_advisory_unlock(%s)', [ADVISORY_LOCK_KEY])


def _netbox_env(db_name):
    env = dict(os.environ)
    env.update(
        HEDGEHOG_WITHOUT_PLUGIN='1',
        HEDGEHOG_DB_NAME=db_name,
        NETBOX_CONFIGURATION='tests.netbox_configuration',
        DJANGO_SETTINGS_MODULE='netbox.settings',
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get('PYTHONPATH')])),
    )
    env.setdefault('NETBOX_ROOT', str(Path(os.environ.get('TMPDIR', '/tmp')) / 'netbox-hedgehog-tests' / 'root'))
    return env


def _build_template(conn, name):
    building = f'{name}_building'
    drop_database(conn, building)  # a build that crashed earlier; we hold the lock
    conn.execute(sql.SQL('CREATE DATABASE {}').format(sql.Identifier(building)))
    log_path = Path(os.environ.get('TMPDIR', '/tmp')) / f'{building}.log'
    log(f'building template database {name}: netbox migrate (4–9 min on 2 cores; log: {log_path}) ...')
    started = time.monotonic()
    with open(log_path, 'w') as out:
        result = subprocess.run(
            [sys.executable, '-m', 'netbox', 'migrate', '--no-input'],
            cwd=REPO_ROOT,
            env=_netbox_env(building),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        tail = ''.join(log_path.read_text().splitlines(keepends=True)[-30:])
        drop_database(conn, building)
        raise RuntimeError(f'netbox migrate failed building {name} (exit {result.returncode}):\n{tail}')
    conn.execute(sql.SQL('ALTER DATABASE {} RENAME TO {}').format(sql.Identifier(building), sql.Identifier(name)))
    log(f'template {name} built in {time.monotonic() - started:.0f} s')


def ensure_template():
    """Return the template's name, building it first if it does not exist."""
    name = template_name()
    with connect() as conn:
        if database_exists(conn, name):
            return name
        with _Locked(conn):
            if not database_exists(conn, name):  # someone may have built it while we waited
                _build_template(conn, name)
    return name


def _reassign_owner(dbname, role):
    """Hand the cloned tables to ``role`` (the template's objects belong to the role that built it)."""
    with connect(dbname) as conn:
        conn.execute(
            sql.SQL("""
            DO $$
            DECLARE r record;
            BEGIN
              FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
                         AND pg_get_userbyid(c.relowner) <> {role_literal} LOOP
                EXECUTE format('ALTER %s public.%I OWNER TO %I',
                               CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                               r.relname, {role_literal});
              END LOOP;
              -- Sequences not owned by a column (those followed their table above).
              FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = 'public' AND c.relkind = 'S'
                         AND pg_get_userbyid(c.relowner) <> {role_literal} LOOP
                EXECUTE format('ALTER SEQUENCE public.%I OWNER TO %I', r.relname, {role_literal});
              END LOOP;
            END $$;
        """).format(role_literal=sql.Literal(role))
        )


def clone(name, owner=None, keep_existing=False):
    """Create database ``name`` from the template (replacing a leftover one unless ``keep_existing``).

    Returns True when a database was created, False when ``keep_existing`` found one.
    """
    template = ensure_template()
    with connect() as conn:
        if keep_existing and database_exists(conn, name):
            return False
        with _Locked(conn):  # CREATE DATABASE ... TEMPLATE fails while anyone else is connected to it
            drop_database(conn, name)
            create = sql.SQL('CREATE DATABASE {} TEMPLATE {}').format(sql.Identifier(name), sql.Identifier(template))
            if owner:
                create += sql.SQL(' OWNER {}').format(sql.Identifier(owner))
            conn.execute(create)
    if owner:
        _reassign_owner(name, owner)
    log(f'created database {name} from {template}')
    return True


def prepare_test_database(name):
    """The session's database: a fresh clone of the template plus the plugin's migrations (in-process)."""
    from django.core.management import call_command
    from django.db import connections

    started = time.monotonic()
    connections.close_all()
    clone(name)
    call_command('migrate', interactive=False, verbosity=0)
    log(f'test database {name} ready in {time.monotonic() - started:.1f} s')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m tests.database', description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('template', help='ensure the NetBox-only template exists and print its name')
    p = sub.add_parser('clone', help='create a database from the template')
    p.add_argument('name')
    p.add_argument('--owner', help='role that will own the database and its tables')
    p.add_argument('--keep-existing', action='store_true', help='do nothing if the database exists')
    args = parser.parse_args(argv)
    if args.command == 'template':
        print(ensure_template())
    else:
        clone(args.name, owner=args.owner, keep_existing=args.keep_existing)


if __name__ == '__main__':
    main()
