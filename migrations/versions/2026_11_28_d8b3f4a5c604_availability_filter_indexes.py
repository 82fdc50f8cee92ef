"""indexes for the catalogue's free-for-D-hours filter

Revision ID: d8b3f4a5c604
Revises: c7a2e3f4b503
Create Date: 2026-11-28 00:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd8b3f4a5c604'
down_revision = 'c7a2e3f4b503'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index('ix_booking_active_window', ['status', 'start_at', 'end_at', 'blocked_start', 'equipment_id', 'lab_id'], unique=False)

    with op.batch_alter_table('equipment', schema=None) as batch_op:
        batch_op.create_index('ix_equipment_lab_bookable', ['lab_id', 'status', 'mode', 'booking_unit', 'min_units', 'max_units'], unique=False)


def downgrade():
    with op.batch_alter_table('equipment', schema=None) as batch_op:
        batch_op.drop_index('ix_equipment_lab_bookable')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_active_window')
