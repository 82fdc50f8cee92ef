"""events at size: list and feed indexes that skip past events inside the index

Revision ID: ac5e0a7d1f03
Revises: ac5e0a7d1f02
Create Date: 2026-12-04 19:40:00

``/events`` walked ``ix_event_status_starts`` from the first event ever published and read
each past event's row to test ``ends_at``; the index now carries ``ends_at``
(``ix_event_status_starts_ends``). The feeds ask for two statuses, which no
status-first index gives in start order; ``ix_event_starts_status_ends`` does.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'ac5e0a7d1f03'
down_revision = 'ac5e0a7d1f02'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_status_starts')
        batch_op.create_index('ix_event_status_starts_ends',
                              ['status', 'starts_at', 'id', 'ends_at'], unique=False)
        batch_op.create_index('ix_event_starts_status_ends',
                              ['starts_at', 'id', 'status', 'ends_at'], unique=False)


def downgrade():
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_starts_status_ends')
        batch_op.drop_index('ix_event_status_starts_ends')
        batch_op.create_index('ix_event_status_starts', ['status', 'starts_at', 'id'],
                              unique=False)
