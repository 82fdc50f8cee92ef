"""dashboard: daily activity summary

Revision ID: b6f1d2e3a402
Revises: a5e0c1d2f301
Create Date: 2026-11-28 00:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b6f1d2e3a402'
down_revision = 'a5e0c1d2f301'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('activity_daily',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('metric', sa.String(length=10), nullable=False),
    sa.Column('grain', sa.String(length=5), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=True),
    sa.Column('category_code', sa.String(length=40), nullable=True),
    sa.Column('ket_code', sa.String(length=16), nullable=True),
    sa.Column('demand_country', sa.String(length=2), nullable=True),
    sa.Column('supply_country', sa.String(length=2), nullable=True),
    sa.Column('unmet', sa.Boolean(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('hours', sa.Float(), nullable=False),
    sa.CheckConstraint("metric IN ('search', 'booking', 'booked', 'lab_bkg', 'lab_hours', 'flow', 'cat_hours', 'req_flow')", name=op.f('ck_activity_daily_metric')),
    sa.CheckConstraint('n >= 0 AND hours >= 0', name=op.f('ck_activity_daily_values')),
    sa.CheckConstraint("grain IN ('day', 'month')", name=op.f('ck_activity_daily_grain')),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_activity_daily_lab_id_lab'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_daily'))
    )
    with op.batch_alter_table('activity_daily', schema=None) as batch_op:
        batch_op.create_index('ix_activity_daily_lab_day', ['lab_id', 'day'], unique=False)
        batch_op.create_index('ix_activity_daily_metric_grain_day', ['metric', 'grain', 'day'], unique=False)

    op.create_table('activity_summary_state',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_activity_summary_state'))
    )


def downgrade():
    op.drop_table('activity_summary_state')
    with op.batch_alter_table('activity_daily', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_daily_metric_grain_day')
        batch_op.drop_index('ix_activity_daily_lab_day')

    op.drop_table('activity_daily')
