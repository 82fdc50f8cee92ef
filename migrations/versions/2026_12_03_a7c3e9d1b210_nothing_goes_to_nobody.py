"""nothing goes to nobody: "tell me when" wishes, the unanswered-request notice

Revision ID: a7c3e9d1b210
Revises: a7d0e1f2c3b4
Create Date: 2026-12-03 16:40:00

``lab_watch``: one row per person and unmanaged lab whose first manager they want to hear
about (removed when the e-mail is queued). ``lab_request.unanswered_notice_at``: when the
requester was told that no lab had answered yet (once per request). No existing row needs
data: nobody watches a lab yet, and no request was told.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7c3e9d1b210'
down_revision = 'a7d0e1f2c3b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lab_watch',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('lab_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_lab_watch_lab_id_lab'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_lab_watch_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'lab_id', name=op.f('pk_lab_watch')),
    )
    with op.batch_alter_table('lab_watch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_watch_lab_id'), ['lab_id'], unique=False)
    with op.batch_alter_table('lab_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unanswered_notice_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('lab_request', schema=None) as batch_op:
        batch_op.drop_column('unanswered_notice_at')
    with op.batch_alter_table('lab_watch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_watch_lab_id'))
    op.drop_table('lab_watch')
