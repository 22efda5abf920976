"""block device mapping uuid (os-volume_attachments' bdm_uuid, 2.89)

Revision ID: 5b7e2d9c41a3
Revises: c0a5e1e70c01
Create Date: 2026-12-07 08:15:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '5b7e2d9c41a3'
down_revision = 'c0a5e1e70c01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('block_device_mappings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uuid', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('block_device_mappings', schema=None) as batch_op:
        batch_op.drop_column('uuid')
