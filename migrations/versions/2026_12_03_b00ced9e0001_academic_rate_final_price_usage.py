"""academic rate per equipment, final price on approval, usage recorded on completion

Revision ID: b00ced9e0001
Revises: a7c3d9e1f207
Create Date: 2026-12-03 17:00:00

Issue 12 §4: labs may set an academic rate per equipment (empty: academic customers pay
the industry rate); a booking keeps the price agreed when it was confirmed
(``final_price``, with ``price_reason`` when it differs from the estimate) and, once
completed, the hours actually used and the amount charged. Existing confirmed, completed
and no-show bookings were agreed at their estimate: that becomes their final price.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b00ced9e0001'
down_revision = 'a7c3d9e1f207'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('equipment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rate_academic', sa.Numeric(precision=10, scale=2),
                                      nullable=True))
        batch_op.create_check_constraint(op.f('ck_equipment_academic_rate'),
                                         'rate_academic IS NULL OR rate_academic >= 0')

    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('final_price', sa.Numeric(precision=12, scale=2),
                                      nullable=True))
        batch_op.add_column(sa.Column('price_reason', sa.Text(), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('actual_hours', sa.Numeric(precision=8, scale=2),
                                      nullable=True))
        batch_op.add_column(sa.Column('charged', sa.Numeric(precision=12, scale=2),
                                      nullable=True))
        batch_op.add_column(sa.Column('charge_reason', sa.Text(), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('usage_recorded_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_check_constraint(op.f('ck_booking_final_price'),
                                         'final_price IS NULL OR final_price >= 0')
        batch_op.create_check_constraint(op.f('ck_booking_actual_hours'),
                                         'actual_hours IS NULL OR actual_hours >= 0')
        batch_op.create_check_constraint(op.f('ck_booking_charged'),
                                         'charged IS NULL OR charged >= 0')

    _restore_sqlite_overlap_triggers()

    # Bookings already confirmed were agreed at their estimate.
    op.execute("UPDATE booking SET final_price = price_estimate "
               "WHERE status IN ('confirmed', 'completed', 'no_show')")


def downgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_booking_charged'), type_='check')
        batch_op.drop_constraint(op.f('ck_booking_actual_hours'), type_='check')
        batch_op.drop_constraint(op.f('ck_booking_final_price'), type_='check')
        batch_op.drop_column('usage_recorded_at')
        batch_op.drop_column('charge_reason')
        batch_op.drop_column('charged')
        batch_op.drop_column('actual_hours')
        batch_op.drop_column('price_reason')
        batch_op.drop_column('final_price')
    _restore_sqlite_overlap_triggers()

    with op.batch_alter_table('equipment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_equipment_academic_rate'), type_='check')
        batch_op.drop_column('rate_academic')


# SQLite's batch mode rebuilds the booking table, and a rebuilt table has lost its
# triggers: the no-overlap backstop of the booking engine migration (DESIGN rule 1) is
# created again here, word for word. PostgreSQL alters in place and keeps its exclusion
# constraint.
ACTIVE = "('pending', 'confirmed')"
OVERLAP = (
    "b.equipment_id = NEW.equipment_id AND b.status IN {active} "
    "AND b.blocked_start < NEW.end_at AND b.end_at > NEW.blocked_start"
).format(active=ACTIVE)


def _restore_sqlite_overlap_triggers():
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS booking_no_overlap_insert")
    op.execute("DROP TRIGGER IF EXISTS booking_no_overlap_update")
    op.execute(
        "CREATE TRIGGER booking_no_overlap_insert BEFORE INSERT ON booking "
        f"WHEN NEW.status IN {ACTIVE} BEGIN "
        "SELECT RAISE(ABORT, 'booking overlaps') WHERE EXISTS "
        f"(SELECT 1 FROM booking b WHERE {OVERLAP}); END"
    )
    op.execute(
        "CREATE TRIGGER booking_no_overlap_update BEFORE UPDATE OF status, equipment_id, "
        f"blocked_start, end_at ON booking WHEN NEW.status IN {ACTIVE} BEGIN "
        "SELECT RAISE(ABORT, 'booking overlaps') WHERE EXISTS "
        f"(SELECT 1 FROM booking b WHERE b.id != NEW.id AND {OVERLAP}); END"
    )
