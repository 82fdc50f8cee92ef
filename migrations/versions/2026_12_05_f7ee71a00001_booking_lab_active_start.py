"""the active bookings of a few labs, by start, from an index alone

Revision ID: f7ee71a00001
Revises: f4ce75e70001
Create Date: 2026-12-05 04:00:00

``ix_booking_lab_active_start (lab_id, status, start_at, end_at, blocked_start,
equipment_id)``: the catalogue's "free for D hours" filter checks the labs of one page
with the exact rule engine (``availability.free_equipment``), reading the active bookings
of those labs that start before the span ends. Through ``ix_booking_lab_status_created``
that was every active booking of each lab, one table read each (~1,300 rows for a page
of 40 labs at 1,000,000 bookings, 2 ms on SQLite); this index answers it from its own
entries, only the ~50 rows that matter.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f7ee71a00001'
down_revision = 'f4ce75e70001'
branch_labels = None
depends_on = None


# Plain CREATE/DROP INDEX, never a batch (a batch that copied the table on SQLite would
# lose its no-overlap triggers).
def upgrade():
    op.create_index('ix_booking_lab_active_start', 'booking',
                    ['lab_id', 'status', 'start_at', 'end_at', 'blocked_start',
                     'equipment_id'], unique=False)


def downgrade():
    op.drop_index('ix_booking_lab_active_start', table_name='booking')
