"""reply drafts and ticket presence: the reply an agent is writing, and who has a ticket open

Revision ID: d4a7c9e2f1b6
Revises: b7e4f2a9c1d3
Create Date: 2026-11-30 20:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4a7c9e2f1b6'
down_revision = 'b7e4f2a9c1d3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reply_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('saved_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_reply_draft_agent_id_agent')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_reply_draft_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_draft')),
    sa.UniqueConstraint('agent_id', 'ticket_id', name=op.f('uq_reply_draft_agent_id'))
    )
    with op.batch_alter_table('reply_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reply_draft_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_presence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('activity', sa.String(length=10), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_ticket_presence_agent_id_agent')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_presence_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_presence')),
    sa.UniqueConstraint('agent_id', 'ticket_id', name=op.f('uq_ticket_presence_agent_id'))
    )
    with op.batch_alter_table('ticket_presence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_presence_seen_at'), ['seen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_presence_ticket_id'), ['ticket_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ticket_presence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_presence_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_ticket_presence_seen_at'))
    op.drop_table('ticket_presence')
    with op.batch_alter_table('reply_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reply_draft_ticket_id'))
    op.drop_table('reply_draft')
