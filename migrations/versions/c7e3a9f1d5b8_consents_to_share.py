"""Consents to share an account's data outside the support team; link tokens about a consent

Revision ID: c7e3a9f1d5b8
Revises: b9562e81e887
Create Date: 2026-11-30 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7e3a9f1d5b8'
down_revision = 'b9562e81e887'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'consent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('recipient', sa.String(length=320), nullable=False),
        sa.Column('content_kind', sa.String(length=10), nullable=False),
        sa.Column('content_ref', sa.String(length=1000), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('purpose', sa.Text(), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('decide_by', sa.DateTime(), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decided_by', sa.String(length=320), nullable=True),
        sa.Column('ends_at', sa.DateTime(), nullable=True),
        sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
        sa.Column('withdrawn_by', sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_consent_account_id_account')),
        sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_consent_agent_id_agent')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consent')),
    )
    with op.batch_alter_table('consent') as batch:
        batch.create_index(batch.f('ix_consent_account_id'), ['account_id'], unique=False)
        batch.create_index(batch.f('ix_consent_agent_id'), ['agent_id'], unique=False)
        batch.create_index(batch.f('ix_consent_status'), ['status'], unique=False)
    with op.batch_alter_table('access_token') as batch:
        batch.alter_column('request_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('consent_id', sa.Integer(), nullable=True))
        batch.create_index(batch.f('ix_access_token_consent_id'), ['consent_id'], unique=False)
        batch.create_foreign_key(batch.f('fk_access_token_consent_id_consent'), 'consent', ['consent_id'], ['id'])


def downgrade():
    op.execute("DELETE FROM access_token WHERE request_id IS NULL")
    with op.batch_alter_table('access_token') as batch:
        batch.drop_constraint(batch.f('fk_access_token_consent_id_consent'), type_='foreignkey')
        batch.drop_index(batch.f('ix_access_token_consent_id'))
        batch.drop_column('consent_id')
        batch.alter_column('request_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('consent') as batch:
        batch.drop_index(batch.f('ix_consent_status'))
        batch.drop_index(batch.f('ix_consent_agent_id'))
        batch.drop_index(batch.f('ix_consent_account_id'))
    op.drop_table('consent')
