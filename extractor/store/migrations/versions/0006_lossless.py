"""current extraction per document; reviewed extractions

Revision ID: 0006_lossless
Revises: 0005_answers
Create Date: 2026-12-04 09:00:00.000000

Every document points at the extraction every view serves; an approved review becomes an
extraction of its own (`origin = 'review'`). Existing documents point at their newest
extraction; reviews approved before this revision are turned into reviewed extractions when
the store opens (`extractor.store.reviews.promote_approved`), which needs the indexing code.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0006_lossless'
down_revision: str | Sequence[str] | None = '0005_answers'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('documents', sa.Column('current_extraction_id', sa.Integer(), nullable=True))
    op.add_column('documents', sa.Column('current_reviewed', sa.Boolean(), server_default=sa.false(),
                                         nullable=False))
    op.create_index(op.f('ix_documents_current_extraction_id'), 'documents', ['current_extraction_id'],
                    unique=False)
    op.add_column('extractions', sa.Column('origin', sa.String(length=10), server_default='model', nullable=False))
    op.add_column('extractions', sa.Column('based_on_id', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE documents SET current_extraction_id = "
        "(SELECT MAX(extractions.id) FROM extractions WHERE extractions.document_id = documents.id)"
    )


def downgrade() -> None:
    """Downgrade schema (reviewed extractions are removed; the reviews themselves stay)."""
    op.execute("DELETE FROM extraction_targets WHERE action_id IN (SELECT extraction_actions.id FROM "
               "extraction_actions JOIN extractions ON extractions.id = extraction_actions.extraction_id "
               "WHERE extractions.origin = 'review')")
    op.execute("DELETE FROM extraction_actions WHERE extraction_id IN "
               "(SELECT id FROM extractions WHERE origin = 'review')")
    op.execute("DELETE FROM extractions WHERE origin = 'review'")
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of these tables would cascade
    # deletes into the tables that refer to them.
    op.drop_column('extractions', 'based_on_id')
    op.drop_column('extractions', 'origin')
    op.drop_index(op.f('ix_documents_current_extraction_id'), table_name='documents')
    op.drop_column('documents', 'current_reviewed')
    op.drop_column('documents', 'current_extraction_id')
