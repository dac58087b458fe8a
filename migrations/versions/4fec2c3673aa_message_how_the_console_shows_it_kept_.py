"""message: how the console shows it, kept after its first view

The ticket page parsed every raw message of the thread on each view to learn whether it
has HTML and how much remote content it would load. Existing messages start unknown
(null) and are read once, the first time they are shown.

Revision ID: 4fec2c3673aa
Revises: 297d267437bc
Create Date: 2026-11-30 08:18:15.288815

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4fec2c3673aa'
down_revision = '297d267437bc'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shown_as_html', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('remote_resources', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('remote_resources')
        batch_op.drop_column('shown_as_html')
