"""backups' service_metadata (the object-storage account of a backup kept in object storage)

Revision ID: 7c3e9a1d52b8
Revises: 259b81be36a6
Create Date: 2026-12-07 14:30:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '7c3e9a1d52b8'
down_revision = '259b81be36a6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('backups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_metadata', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('backups', schema=None) as batch_op:
        batch_op.drop_column('service_metadata')
