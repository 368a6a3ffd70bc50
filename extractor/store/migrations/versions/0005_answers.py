"""issuer ids on indexed actions; the model call log

Revision ID: 0005_answers
Revises: 0004_runs
Create Date: 2026-12-10 10:00:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0005_answers'
down_revision: str | Sequence[str] | None = '0004_runs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema: add the issuer columns (filled from the stored results) and the call log."""
    with op.batch_alter_table('extraction_actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('issuer', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('issuer_id', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('issuer_ids', sa.String(length=400), server_default=',', nullable=False))
        batch_op.create_index(batch_op.f('ix_extraction_actions_issuer_id'), ['issuer_id'], unique=False)
    _fill_issuers()
    op.create_table('model_calls',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_id', sa.String(length=64), nullable=True),
    sa.Column('article_id', sa.String(length=200), nullable=True),
    sa.Column('prompt_id', sa.String(length=100), nullable=True),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('endpoint', sa.String(length=300), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=True),
    sa.Column('step', sa.String(length=60), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('finish_reason', sa.String(length=30), nullable=True),
    sa.Column('prompt_tokens', sa.Integer(), nullable=False),
    sa.Column('completion_tokens', sa.Integer(), nullable=False),
    sa.Column('latency_s', sa.Float(), nullable=False),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('model_calls', schema=None) as batch_op:
        batch_op.create_index('ix_model_calls_article_started', ['article_id', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_calls_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_calls_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_model_calls_started_at'), ['started_at'], unique=False)


def _fill_issuers() -> None:
    """Index the issuer of every action already stored, from its extraction's result."""
    from extractor.store.issuers import issuer_columns

    bind = op.get_bind()
    actions = sa.table('extraction_actions', sa.column('id', sa.Integer), sa.column('extraction_id', sa.Integer),
                       sa.column('position', sa.Integer), sa.column('issuer', sa.String),
                       sa.column('issuer_id', sa.String), sa.column('issuer_ids', sa.String))
    extractions = sa.table('extractions', sa.column('id', sa.Integer), sa.column('result', sa.JSON))
    rows = bind.execute(sa.select(actions.c.id, actions.c.position, extractions.c.result)
                        .join(extractions, extractions.c.id == actions.c.extraction_id)).all()
    for action_id, position, result in rows:
        stored = (result or {}).get('actions') or []
        if position < len(stored):
            bind.execute(actions.update().where(actions.c.id == action_id).values(**issuer_columns(stored[position])))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('model_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_calls_started_at'))
        batch_op.drop_index(batch_op.f('ix_model_calls_run_id'))
        batch_op.drop_index(batch_op.f('ix_model_calls_status'))
        batch_op.drop_index('ix_model_calls_article_started')
    op.drop_table('model_calls')
    with op.batch_alter_table('extraction_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_extraction_actions_issuer_id'))
        batch_op.drop_column('issuer_ids')
        batch_op.drop_column('issuer_id')
        batch_op.drop_column('issuer')
