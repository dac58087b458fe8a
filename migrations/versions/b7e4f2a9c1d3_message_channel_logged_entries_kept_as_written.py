"""message channel: calls, chats, meetings and contact-form messages, kept as written

A message records how it reached the desk (``channel``: email unless it was logged by an
agent or sent through the contact form), who logged it and how long the call lasted, and
the entry it corrects. Existing messages are email.

Entries that are not email are kept as written: triggers refuse any UPDATE that changes
what such an entry says and any DELETE of one (or of its attachments' rows), whatever
code runs the statement, and no message's channel may change. SQLite drops a table's
triggers with the table, so a later migration that rebuilds ``message`` or
``attachment`` (batch mode with a change SQLite cannot make in place) must create them
again; the tests of logged entries build the schema with every migration and would fail.

Revision ID: b7e4f2a9c1d3
Revises: 5b7e2d9c41a8
Create Date: 2026-12-01 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e4f2a9c1d3'
down_revision = '5b7e2d9c41a8'
branch_labels = None
depends_on = None

# What an entry says, as of this revision (app.models.message.ENTRY_CONTENT).
CONTENT = ("sha256", "size", "direction", "subject", "from_addr", "from_name", "to_addrs", "cc_addrs",
           "date_utc", "date_offset_minutes", "message_id_header", "in_reply_to", "references_ids",
           "body_text", "auto_reason", "quarantined", "parse_error", "defects", "archived_at",
           "channel", "logged_by_id", "duration_minutes", "corrects_id")
REFUSAL = ("logged calls, chats, meetings and contact-form messages are kept as written: "
           "they cannot be edited or deleted")


def upgrade():
    op.add_column('message', sa.Column('channel', sa.String(length=10), server_default='email', nullable=False))
    op.add_column('message', sa.Column('duration_minutes', sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        op.add_column('message', sa.Column('logged_by_id', sa.Integer(), nullable=True))
        op.add_column('message', sa.Column('corrects_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_message_logged_by_id_agent', 'message', 'agent', ['logged_by_id'], ['id'])
        op.create_foreign_key('fk_message_corrects_id_message', 'message', 'message', ['corrects_id'], ['id'])
    else:
        # SQLite adds a column with its foreign key in place; batch mode would rebuild the
        # table, and with it the expression indexes of c5a2e8d1f9b3, for nothing.
        op.execute("ALTER TABLE message ADD COLUMN logged_by_id INTEGER "
                   "CONSTRAINT fk_message_logged_by_id_agent REFERENCES agent (id)")
        op.execute("ALTER TABLE message ADD COLUMN corrects_id INTEGER "
                   "CONSTRAINT fk_message_corrects_id_message REFERENCES message (id)")
    op.create_index('ix_message_corrects_id', 'message', ['corrects_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _changed(columns) -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)


def _postgresql_triggers():
    op.execute(f"""
        CREATE OR REPLACE FUNCTION message_kept_as_written() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN
            IF OLD.channel <> 'email' THEN
              RAISE EXCEPTION 'message %: {REFUSAL}', OLD.id USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN OLD;
          END IF;
          IF OLD.channel IS DISTINCT FROM NEW.channel
             OR (OLD.channel <> 'email' AND ({_changed(CONTENT)})) THEN
            RAISE EXCEPTION 'message %: {REFUSAL}', OLD.id USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          RETURN NEW;
        END $$""")
    op.execute(f"""
        CREATE OR REPLACE FUNCTION attachment_kept_as_written() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF (SELECT channel FROM message WHERE id = OLD.message_id) <> 'email' THEN
            RAISE EXCEPTION 'attachment %: {REFUSAL}', OLD.id USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
          RETURN NEW;
        END $$""")
    # UPDATE OF: the index queue's bulk updates of indexed_at never call the function.
    op.execute(f"CREATE TRIGGER message_kept_as_written BEFORE UPDATE OF {', '.join(CONTENT)} OR DELETE "
               "ON message FOR EACH ROW EXECUTE FUNCTION message_kept_as_written()")
    op.execute("CREATE TRIGGER attachment_kept_as_written BEFORE UPDATE OR DELETE ON attachment "
               "FOR EACH ROW EXECUTE FUNCTION attachment_kept_as_written()")


def _sqlite_triggers():
    refuse = f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in CONTENT)
    entry = "(SELECT channel FROM message WHERE id = OLD.message_id) <> 'email'"
    op.execute(f"CREATE TRIGGER message_kept_as_written_update BEFORE UPDATE OF {', '.join(CONTENT)} "
               f"ON message FOR EACH ROW WHEN OLD.channel IS NOT NEW.channel "
               f"OR (OLD.channel <> 'email' AND ({changed})) {refuse}")
    op.execute("CREATE TRIGGER message_kept_as_written_delete BEFORE DELETE ON message FOR EACH ROW "
               f"WHEN OLD.channel <> 'email' {refuse}")
    op.execute(f"CREATE TRIGGER attachment_kept_as_written_update BEFORE UPDATE ON attachment FOR EACH ROW "
               f"WHEN {entry} {refuse}")
    op.execute(f"CREATE TRIGGER attachment_kept_as_written_delete BEFORE DELETE ON attachment FOR EACH ROW "
               f"WHEN {entry} {refuse}")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS attachment_kept_as_written ON attachment")
        op.execute("DROP TRIGGER IF EXISTS message_kept_as_written ON message")
        op.execute("DROP FUNCTION IF EXISTS attachment_kept_as_written()")
        op.execute("DROP FUNCTION IF EXISTS message_kept_as_written()")
    else:
        for name in ("attachment_kept_as_written_delete", "attachment_kept_as_written_update",
                     "message_kept_as_written_delete", "message_kept_as_written_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index('ix_message_corrects_id', table_name='message')
    sqlite = op.get_bind().dialect.name != 'postgresql'
    if sqlite:
        # SQLite rebuilds the table (a column with a foreign key cannot be dropped in place),
        # and batch mode cannot carry expression indexes over: those of c5a2e8d1f9b3 are
        # dropped first and made again after.
        op.drop_index('ix_message_ticket_direction_when', table_name='message')
        op.drop_index('ix_message_when', table_name='message')
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('corrects_id')
        batch_op.drop_column('duration_minutes')
        batch_op.drop_column('logged_by_id')
        batch_op.drop_column('channel')
    if sqlite:
        when = sa.text('coalesce(date_utc, archived_at)')
        op.create_index('ix_message_when', 'message', [when, 'direction'])
        op.create_index('ix_message_ticket_direction_when', 'message', ['ticket_id', 'direction', when])
