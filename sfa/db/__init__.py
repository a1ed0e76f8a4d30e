"""PostgreSQL: the shared pool, the migrator, and the embedded server used when DATABASE_URL is unset."""

from sfa.db.database import Database, ensure_database
from sfa.db.embedded import EmbeddedPostgres
from sfa.db.migrator import MigrationError, migrate

__all__ = ["Database", "EmbeddedPostgres", "MigrationError", "ensure_database", "migrate"]
