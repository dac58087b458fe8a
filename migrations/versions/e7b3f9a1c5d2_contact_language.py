"""contact language: the language a company contact's emails and pages are written in

Two nullable columns on contact, added in place on SQLite and PostgreSQL alike: the
language's code (none reads as English), and how it was learnt.

Revision ID: e7b3f9a1c5d2
Revises: d4a8c2e6f1b9
Create Date: 2026-12-01 00:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e7b3f9a1c5d2'
down_revision = 'd4a8c2e6f1b9'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('contact', sa.Column('language', sa.String(length=16), nullable=True))
    op.add_column('contact', sa.Column('language_source', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('contact') as batch_op:
        batch_op.drop_column('language_source')
        batch_op.drop_column('language')
