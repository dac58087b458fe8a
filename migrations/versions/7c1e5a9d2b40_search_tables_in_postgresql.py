"""search_document, search_chunk: the search index in PostgreSQL (SEARCH_BACKEND=postgresql)

Created on PostgreSQL only: SQLite has no tsvector, and there search is Whoosh's.
They start empty; `flask search reindex` fills them (see README, "Search shared by
several machines").

Revision ID: 7c1e5a9d2b40
Revises: 4fec2c3673aa
Create Date: 2026-11-30 12:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '7c1e5a9d2b40'
down_revision = '4fec2c3673aa'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.create_table(
        'search_document',
        sa.Column('message_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('words', postgresql.TSVECTOR(), nullable=False),
        sa.Column('head', postgresql.TSVECTOR(), nullable=False),
        sa.Column('chunked', sa.Boolean(), nullable=False),
        sa.Column('date', sa.DateTime(), nullable=True),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('account', sa.Text(), nullable=False),
        sa.Column('ticket', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('sender', sa.Text(), nullable=False),
        sa.Column('snippet', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('message_id', name=op.f('pk_search_document')),
    )
    op.create_index('ix_search_document_words', 'search_document', ['words'], postgresql_using='gin',
                    postgresql_with={'gin_pending_list_limit': 1024})
    op.create_index('ix_search_document_date', 'search_document', ['date'])
    op.create_index('ix_search_document_chunked', 'search_document', ['message_id'],
                    postgresql_where=sa.text('chunked'))
    op.create_table(
        'search_chunk',
        sa.Column('message_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('words', postgresql.TSVECTOR(), nullable=False),
        sa.PrimaryKeyConstraint('message_id', 'seq', name=op.f('pk_search_chunk')),
    )
    op.create_index('ix_search_chunk_words', 'search_chunk', ['words'], postgresql_using='gin',
                    postgresql_with={'gin_pending_list_limit': 1024})


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_table('search_chunk')
    op.drop_table('search_document')
