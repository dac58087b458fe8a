"""response targets and business hours: the desk's, and per account

One table: the row without an account holds the desk's first- and next-response targets
(minutes of business time), its opening hours and its time zone; a row per account
overrides what it sets. Only a new table: SQLite and PostgreSQL create it alike, and
no existing table is rebuilt (so no trigger of a3d8c6e1f5b7 is lost).

Revision ID: d4a8c2e6f1b9
Revises: a3d8c6e1f5b7
Create Date: 2026-11-30 20:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4a8c2e6f1b9'
down_revision = 'a3d8c6e1f5b7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('response_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('first_response_minutes', sa.Integer(), nullable=True),
    sa.Column('next_response_minutes', sa.Integer(), nullable=True),
    sa.Column('time_zone', sa.String(length=64), nullable=True),
    sa.Column('business_hours', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_response_target_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_target')),
    sa.UniqueConstraint('account_id', name=op.f('uq_response_target_account_id'))
    )


def downgrade():
    op.drop_table('response_target')
