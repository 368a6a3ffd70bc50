"""The service's database: documents, extractions, jobs and API keys (SQLAlchemy 2, Alembic migrations)."""

from .db import DB_ENV, Store, default_url
from .documents import DocumentConflict, ExtractionKey
from .listing import DocumentFilter

__all__ = ["DB_ENV", "DocumentConflict", "DocumentFilter", "ExtractionKey", "Store", "default_url"]
