"""each agent's language: the console is written in it when no page chose one

Existing agents keep reading English. Only a column with a default: SQLite and PostgreSQL
add it alike.

Revision ID: b7e3f1a9c5d2
Revises: e7b3f9a1c5d2
Create Date: 2026-12-01 00:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e3f1a9c5d2'
down_revision = 'e7b3f9a1c5d2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), server_default='en', nullable=False))


def downgrade():
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_column('language')
