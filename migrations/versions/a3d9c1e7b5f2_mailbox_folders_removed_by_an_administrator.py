"""Mailbox folders an administrator stopped archiving keep their row (removed_at)

Revision ID: a3d9c1e7b5f2
Revises: e8f1a4c7d0b2
Create Date: 2026-11-30 14:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3d9c1e7b5f2'
down_revision = 'e8f1a4c7d0b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mailbox_folder') as batch:
        batch.add_column(sa.Column('removed_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('mailbox_folder') as batch:
        batch.drop_column('removed_at')
