"""search speed: the labs' facet summary (lab_facet) and the equipment's free-time summary
(equipment_free_day, lab_free_week), filled for the existing data

Revision ID: 9fd0f797c0b8
Revises: c4e7a1d95b20
Create Date: 2026-12-04 16:00:00

Issue 13 (fast at scale): the facet counts of a search are one grouped query over
``lab_facet`` (one row per lab and filter value it has), and "free for D hours between two
dates" is prefiltered by the free-time summary (``lab_free_week``: each lab's longest free
time per weekday from its opening hours alone; ``equipment_free_day``: the days where an
equipment's bookings or blackouts leave less) before the exact rule engine checks the
labs a page shows. The tables are filled by the builders the application uses
(``labnet.services.catalogue.search.lab_facets.rebuild``,
``labnet.services.booking.free_days.rebuild``), so ``flask db upgrade`` leaves them
complete on both engines.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '9fd0f797c0b8'
down_revision = 'c4e7a1d95b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lab_facet',
        sa.Column('lab_id', sa.Integer(), nullable=False),
        sa.Column('family', sa.String(length=16), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('until', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_lab_facet_lab_id_lab'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('lab_id', 'family', 'code', name=op.f('pk_lab_facet')),
    )
    op.create_table(
        'lab_free_week',
        sa.Column('lab_id', sa.Integer(), nullable=False),
        sa.Column('hourly', sa.Boolean(), nullable=False),
        sa.Column('weekday', sa.SmallInteger(), nullable=False),
        sa.Column('longest_free_minutes', sa.Integer(), nullable=False),
        sa.Column('equipment', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['lab_id'], ['lab.id'],
                                name=op.f('fk_lab_free_week_lab_id_lab'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('lab_id', 'hourly', 'weekday', name=op.f('pk_lab_free_week')),
    )
    op.create_table(
        'equipment_free_day',
        sa.Column('equipment_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('lab_id', sa.Integer(), nullable=False),
        sa.Column('hourly', sa.Boolean(), nullable=False),
        sa.Column('weekday', sa.SmallInteger(), nullable=False),
        sa.Column('longest_free_minutes', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'],
                                name=op.f('fk_equipment_free_day_equipment_id_equipment'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['lab_id'], ['lab.id'],
                                name=op.f('fk_equipment_free_day_lab_id_lab'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('equipment_id', 'day', name=op.f('pk_equipment_free_day')),
    )
    with op.batch_alter_table('equipment_free_day', schema=None) as batch_op:
        batch_op.create_index('ix_equipment_free_day_day', ['day', 'longest_free_minutes'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_equipment_free_day_lab_id'), ['lab_id'],
                              unique=False)

    from labnet.services.booking import free_days
    from labnet.services.catalogue.search import lab_facets
    lab_facets.rebuild(op.get_bind(), sets=False)  # lab_facet_set comes in f4ce75e70001
    free_days.rebuild(op.get_bind(), lab_days=False)  # lab_free_day comes in f7ee71a00002


def downgrade():
    with op.batch_alter_table('equipment_free_day', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_equipment_free_day_lab_id'))
        batch_op.drop_index('ix_equipment_free_day_day')
    op.drop_table('equipment_free_day')
    op.drop_table('lab_free_week')
    op.drop_table('lab_facet')
