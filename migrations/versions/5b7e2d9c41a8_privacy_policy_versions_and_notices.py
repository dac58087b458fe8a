"""Privacy policy versions, kept unedited, and the notice of each owed to each company contact

Revision ID: 5b7e2d9c41a8
Revises: c7e3a9f1d5b8
Create Date: 2026-11-30 17:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b7e2d9c41a8'
down_revision = 'c7e3a9f1d5b8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('policy_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['published_by_id'], ['agent.id'], name=op.f('fk_policy_version_published_by_id_agent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_version'))
    )
    op.create_table('policy_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_tried_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('claimed_by', sa.String(length=200), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_policy_notice_account_id_account')),
    sa.ForeignKeyConstraint(['version_id'], ['policy_version.id'], name=op.f('fk_policy_notice_version_id_policy_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_notice')),
    sa.UniqueConstraint('version_id', 'account_id', 'email', name=op.f('uq_policy_notice_version_id'))
    )
    with op.batch_alter_table('policy_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_notice_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_notice_sent_at'), ['sent_at'], unique=False)



def downgrade():
    with op.batch_alter_table('policy_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_notice_sent_at'))
        batch_op.drop_index(batch_op.f('ix_policy_notice_account_id'))

    op.drop_table('policy_notice')
    op.drop_table('policy_version')
