"""dashboard speed: request summary tables and covering indexes on lab_request

Revision ID: e9c4a5b6d705
Revises: d8b3f4a5c604
Create Date: 2026-11-28 01:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e9c4a5b6d705'
down_revision = 'd8b3f4a5c604'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('request_daily',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('grain', sa.String(length=5), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ket_code', sa.String(length=16), nullable=True),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('decided', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('declined', sa.Integer(), nullable=False),
    sa.Column('late', sa.Integer(), nullable=False),
    sa.CheckConstraint("grain IN ('day', 'month')", name=op.f('ck_request_daily_grain')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_daily'))
    )
    with op.batch_alter_table('request_daily', schema=None) as batch_op:
        batch_op.create_index('ix_request_daily_grain_day', ['grain', 'day'], unique=False)

    op.create_table('request_hours_daily',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('measure', sa.String(length=10), nullable=False),
    sa.Column('bucket', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.CheckConstraint("measure IN ('first', 'decision')", name=op.f('ck_request_hours_daily_measure')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_hours_daily'))
    )
    with op.batch_alter_table('request_hours_daily', schema=None) as batch_op:
        batch_op.create_index('ix_request_hours_daily_day', ['day'], unique=False)

    with op.batch_alter_table('lab_request', schema=None) as batch_op:
        batch_op.create_index('ix_lab_request_dashboard', ['created_at', 'kind', 'ket_code', 'status', 'first_response_at', 'decided_at', 'organisation_id'], unique=False)
        batch_op.create_index('ix_lab_request_updated', ['updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('lab_request', schema=None) as batch_op:
        batch_op.drop_index('ix_lab_request_updated')
        batch_op.drop_index('ix_lab_request_dashboard')

    with op.batch_alter_table('request_hours_daily', schema=None) as batch_op:
        batch_op.drop_index('ix_request_hours_daily_day')

    op.drop_table('request_hours_daily')
    with op.batch_alter_table('request_daily', schema=None) as batch_op:
        batch_op.drop_index('ix_request_daily_grain_day')

    op.drop_table('request_daily')
