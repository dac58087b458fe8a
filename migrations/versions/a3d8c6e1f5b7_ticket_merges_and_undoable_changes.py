"""ticket merges and undoable changes

A ticket merged into another names it (``merged_into_id``); it is kept, closed. Each move,
merge and link an agent makes is kept in ``ticket_change`` with where things stood before
and after, so that it can be undone for a while (``UNDO_MINUTES``).

Revision ID: a3d8c6e1f5b7
Revises: 4714140ee18b
Create Date: 2026-11-30 20:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3d8c6e1f5b7'
down_revision = '4714140ee18b'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.add_column('ticket', sa.Column('merged_into_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_ticket_merged_into_id_ticket', 'ticket', 'ticket', ['merged_into_id'], ['id'])
    else:
        # SQLite adds a column with its foreign key in place; batch mode would rebuild the
        # table, and dropping ``ticket`` while messages name its rows is refused.
        op.execute("ALTER TABLE ticket ADD COLUMN merged_into_id INTEGER "
                   "CONSTRAINT fk_ticket_merged_into_id_ticket REFERENCES ticket (id)")
    op.create_table('ticket_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('before', sa.Text(), nullable=False),
    sa.Column('after', sa.Text(), nullable=False),
    sa.Column('undone_at', sa.DateTime(), nullable=True),
    sa.Column('undone_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_ticket_change_agent_id_agent')),
    sa.ForeignKeyConstraint(['event_id'], ['ticket_event.id'], name=op.f('fk_ticket_change_event_id_ticket_event')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_change_ticket_id_ticket')),
    sa.ForeignKeyConstraint(['undone_by_id'], ['agent.id'], name=op.f('fk_ticket_change_undone_by_id_agent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_change'))
    )
    op.create_index('ix_ticket_change_ticket_id', 'ticket_change', ['ticket_id'], unique=False)
    op.create_index('ix_ticket_change_event_id', 'ticket_change', ['event_id'], unique=False)


def downgrade():
    op.drop_index('ix_ticket_change_event_id', table_name='ticket_change')
    op.drop_index('ix_ticket_change_ticket_id', table_name='ticket_change')
    op.drop_table('ticket_change')
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint('fk_ticket_merged_into_id_ticket', 'ticket', type_='foreignkey')
        op.drop_column('ticket', 'merged_into_id')
    else:
        # SQLite does not name a foreign key written with its column; the rebuild drops it.
        with op.batch_alter_table('ticket', schema=None) as batch_op:
            batch_op.drop_column('merged_into_id')
