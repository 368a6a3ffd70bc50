"""key roles, server-side browser sessions; the session secret leaves the database

Revision ID: 0003_security
Revises: 0002
Create Date: 2026-12-04 09:00:00.000000

Keys that existed before roles could do everything, so they become `admin`; keys created
from now on name their role (`extractor keys create NAME --role R`, default `reader`).
The session-signing secret was kept in `service_secrets`, where anyone who could read the
database could forge a session: it is deleted with its table (the server now reads it from
EXTRACTOR_SESSION_SECRET or a 0600 file), which also ends every session signed with it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0003_security'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=10), nullable=False, server_default='admin'))
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.alter_column('role', server_default=None)
    op.create_table('browser_sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('api_key_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('browser_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_browser_sessions_api_key_id'), ['api_key_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_browser_sessions_expires_at'), ['expires_at'], unique=False)
    op.drop_table('service_secrets')


def downgrade() -> None:
    """Downgrade schema (the old secret is not restored: the server creates a new one)."""
    op.create_table('service_secrets',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('browser_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_browser_sessions_expires_at'))
        batch_op.drop_index(batch_op.f('ix_browser_sessions_api_key_id'))
    op.drop_table('browser_sessions')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('role')
