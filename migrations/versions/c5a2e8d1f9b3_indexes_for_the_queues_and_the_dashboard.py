"""indexes for the queues and the dashboard, whose cost then follows the tickets and
weeks they show instead of the size of the archive

Revision ID: c5a2e8d1f9b3
Revises: b3d81f0c6e52
Create Date: 2026-11-30 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5a2e8d1f9b3'
down_revision = 'b3d81f0c6e52'
branch_labels = None
depends_on = None

WHEN = sa.text('coalesce(date_utc, archived_at)')


def upgrade():
    op.create_index('ix_message_when', 'message', [WHEN, 'direction'])
    op.create_index('ix_message_ticket_direction_when', 'message', ['ticket_id', 'direction', WHEN])
    op.create_index('ix_ticket_queue', 'ticket', ['status', 'last_activity_at', 'id'])
    op.create_index('ix_ticket_account_activity', 'ticket', ['account_id', 'last_activity_at', 'id'])


def downgrade():
    op.drop_index('ix_ticket_account_activity', table_name='ticket')
    op.drop_index('ix_ticket_queue', table_name='ticket')
    op.drop_index('ix_message_ticket_direction_when', table_name='message')
    op.drop_index('ix_message_when', table_name='message')
