"""eval runs

Revision ID: 0004_runs
Revises: 0003_security
Create Date: 2026-12-04 09:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0004_runs'
down_revision: str | Sequence[str] | None = '0003_security'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('runs',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('prompt_id', sa.String(length=100), nullable=False),
    sa.Column('prompt_hash', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('schema_version', sa.String(length=20), nullable=True),
    sa.Column('schema_hash', sa.String(length=64), nullable=True),
    sa.Column('gold_hash', sa.String(length=64), nullable=False),
    sa.Column('gold_dir', sa.Text(), nullable=True),
    sa.Column('docs_dir', sa.Text(), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('n_documents', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('micro_f1', sa.Float(), nullable=True),
    sa.Column('ci_low', sa.Float(), nullable=True),
    sa.Column('ci_high', sa.Float(), nullable=True),
    sa.Column('precision', sa.Float(), nullable=True),
    sa.Column('recall', sa.Float(), nullable=True),
    sa.Column('macro_f1', sa.Float(), nullable=True),
    sa.Column('grounding_rate', sa.Float(), nullable=True),
    sa.Column('prompt_tokens', sa.Integer(), nullable=True),
    sa.Column('completion_tokens', sa.Integer(), nullable=True),
    sa.Column('cost', sa.Float(), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('predictions', sa.Text(), nullable=False),
    sa.Column('info', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('doc_scores', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_runs_finished_at'), ['finished_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_runs_gold_hash'), ['gold_hash'], unique=False)
        batch_op.create_index('ix_runs_prompt_model', ['prompt_id', 'model'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index('ix_runs_prompt_model')
        batch_op.drop_index(batch_op.f('ix_runs_gold_hash'))
        batch_op.drop_index(batch_op.f('ix_runs_finished_at'))
    op.drop_table('runs')
