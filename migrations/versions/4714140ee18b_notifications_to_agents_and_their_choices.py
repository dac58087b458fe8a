"""notifications to agents, their email outbox, and each agent's choices per kind

``notification``: what an agent is told (a ticket assigned, a customer's answer, an access
decision, a grant about to end), listed in the console until read and, where the agent
chose email, claimed and sent once by a worker. ``notification_preference``: an agent's
choice for one kind; kinds without a row keep their defaults. ``access_request.
ending_notified_at``: the agent was told their grant is about to end, once.

Revision ID: 4714140ee18b
Revises: c4f7a2e9d1b6
Create Date: 2026-11-30 20:19:08

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4714140ee18b'
down_revision = 'c4f7a2e9d1b6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_preference',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('in_console', sa.Boolean(), nullable=False),
    sa.Column('by_email', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_notification_preference_agent_id_agent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preference')),
    sa.UniqueConstraint('agent_id', 'kind', name=op.f('uq_notification_preference_agent_id'))
    )
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('in_console', sa.Boolean(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('by_email', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_tried_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('claimed_by', sa.String(length=200), nullable=True),
    sa.Column('email_sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_notification_account_id_account')),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_notification_agent_id_agent')),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_notification_message_id_message')),
    sa.ForeignKeyConstraint(['request_id'], ['access_request.id'], name=op.f('fk_notification_request_id_access_request')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_notification_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_agent', ['agent_id', 'in_console', 'read_at', 'id'], unique=False)
        batch_op.create_index('ix_notification_outbox', ['by_email', 'email_sent_at'], unique=False)

    with op.batch_alter_table('access_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ending_notified_at', sa.DateTime(), nullable=True))



def downgrade():
    with op.batch_alter_table('access_request', schema=None) as batch_op:
        batch_op.drop_column('ending_notified_at')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_outbox')
        batch_op.drop_index('ix_notification_agent')

    op.drop_table('notification')
    op.drop_table('notification_preference')
