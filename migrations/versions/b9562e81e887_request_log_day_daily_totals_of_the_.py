"""request_log_day: daily totals of the request log, per account, route, method and status

Revision ID: b9562e81e887
Revises: a3d9c1e7b5f2
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b9562e81e887'
down_revision = 'a3d9c1e7b5f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('request_log_day',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('route', sa.String(length=200), nullable=True),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('total_us', sa.BigInteger(), nullable=False),
    sa.Column('max_ms', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_request_log_day_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_log_day'))
    )
    with op.batch_alter_table('request_log_day', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_request_log_day_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_request_log_day_day'), ['day'], unique=False)


def downgrade():
    with op.batch_alter_table('request_log_day', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_request_log_day_day'))
        batch_op.drop_index(batch_op.f('ix_request_log_day_account_id'))

    op.drop_table('request_log_day')
