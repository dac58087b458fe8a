"""OAuth2 mailboxes (their provider, application and encrypted refresh token), paused
mailboxes, and the SMTP server a mailbox's own account sends replies through

Revision ID: e8f1a4c7d0b2
Revises: c5a2e8d1f9b3
Create Date: 2026-11-30 14:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e8f1a4c7d0b2'
down_revision = 'c5a2e8d1f9b3'
branch_labels = None
depends_on = None


def upgrade():
    # Batch mode: SQLite changes a column's nullability only by copying the table.
    with op.batch_alter_table('mailbox') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=10), nullable=False,
                                   server_default='password'))
        batch.alter_column('password_env', existing_type=sa.String(length=100), nullable=True)
        batch.add_column(sa.Column('paused_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('smtp_host', sa.String(length=253), nullable=True))
        batch.add_column(sa.Column('smtp_port', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('smtp_security', sa.String(length=10), nullable=True))
    op.create_table(
        'mailbox_oauth',
        sa.Column('mailbox_id', sa.Integer(), sa.ForeignKey('mailbox.id'), primary_key=True),
        sa.Column('client_id', sa.String(length=500), nullable=False),
        sa.Column('client_secret', sa.Text(), nullable=True),
        sa.Column('authorize_url', sa.String(length=2000), nullable=False),
        sa.Column('token_url', sa.String(length=2000), nullable=False),
        sa.Column('device_url', sa.String(length=2000), nullable=True),
        sa.Column('scopes', sa.Text(), nullable=False),
        sa.Column('mechanism', sa.String(length=12), nullable=False),
        sa.Column('refresh_token', sa.Text(), nullable=True),
        sa.Column('connected_at', sa.DateTime(), nullable=True),
        sa.Column('failed_at', sa.DateTime(), nullable=True),
        sa.Column('failure', sa.Text(), nullable=True),
        sa.Column('notified_at', sa.DateTime(), nullable=True),
    )


def downgrade():
    op.drop_table('mailbox_oauth')
    with op.batch_alter_table('mailbox') as batch:
        batch.drop_column('smtp_security')
        batch.drop_column('smtp_port')
        batch.drop_column('smtp_host')
        batch.drop_column('paused_at')
        batch.alter_column('password_env', existing_type=sa.String(length=100), nullable=False)
        batch.drop_column('kind')
