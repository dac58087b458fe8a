"""saved replies, shared or personal, and each agent's signature

Revision ID: c4f7a2e9d1b6
Revises: d4a7c9e2f1b6
Create Date: 2026-11-30 20:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4f7a2e9d1b6'
down_revision = 'd4a7c9e2f1b6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('saved_reply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('shared', sa.Boolean(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['agent.id'], name=op.f('fk_saved_reply_author_id_agent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_reply'))
    )
    with op.batch_alter_table('saved_reply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_reply_author_id'), ['author_id'], unique=False)
    # Existing agents start with no signature.
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature', sa.Text(), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_column('signature')
    with op.batch_alter_table('saved_reply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_reply_author_id'))
    op.drop_table('saved_reply')
