"""console auth tokens

Revision ID: c0a5e1e70c01
Revises: 861287aa5b18
Create Date: 2026-12-07 00:45:00.000000
"""

from alembic import op
import sqlalchemy as sa
import nubes.core.db.base


revision = 'c0a5e1e70c01'
down_revision = '861287aa5b18'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('console_auth_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('console_type', sa.String(length=32), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('internal_access_path', sa.String(length=255), nullable=True),
    sa.Column('instance_uuid', sa.String(length=36), nullable=False),
    sa.Column('compute_host', sa.String(length=255), nullable=False),
    sa.Column('created_at', nubes.core.db.base.UTCDateTime(), nullable=False),
    sa.Column('expires', nubes.core.db.base.UTCDateTime(), nullable=False),
    sa.Column('used_at', nubes.core.db.base.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_auth_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_console_auth_tokens_token_hash'))
    )
    with op.batch_alter_table('console_auth_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_console_auth_tokens_expires'), ['expires'], unique=False)
        batch_op.create_index(batch_op.f('ix_console_auth_tokens_instance_uuid'), ['instance_uuid'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('console_auth_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_console_auth_tokens_instance_uuid'))
        batch_op.drop_index(batch_op.f('ix_console_auth_tokens_expires'))
    op.drop_table('console_auth_tokens')
