"""ops: job run and failure counts; outbox backoff and bounces

Revision ID: 0b5e7a11c0de
Revises: c0a1b2c3d4e6
Create Date: 2026-12-04 15:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0b5e7a11c0de'
down_revision = 'c0a1b2c3d4e6'
branch_labels = None
depends_on = None


def upgrade():
    # Every column has a server default or may be null: safe on a live, filled table.
    with op.batch_alter_table('job_lock', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_count', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('failure_count', sa.Integer(), server_default='0',
                                      nullable=False))
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('bounced', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('outbox_email', schema=None) as batch_op:
        batch_op.drop_column('bounced')
        batch_op.drop_column('next_attempt_at')
    with op.batch_alter_table('job_lock', schema=None) as batch_op:
        batch_op.drop_column('failure_count')
        batch_op.drop_column('run_count')
