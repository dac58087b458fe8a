"""raw_blob: raw messages kept in the database (RAW_STORE=database)

Empty until an archive is moved into it with `flask archive migrate-store --to database`,
or starts with RAW_STORE=database.

Revision ID: b3d81f0c6e52
Revises: 7c1e5a9d2b40
Create Date: 2026-11-30 11:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3d81f0c6e52'
down_revision = '7c1e5a9d2b40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'raw_blob',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('stored_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('sha256', name=op.f('pk_raw_blob')),
    )


def downgrade():
    op.drop_table('raw_blob')
