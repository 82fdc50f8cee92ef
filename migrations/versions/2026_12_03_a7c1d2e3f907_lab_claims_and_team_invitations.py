"""lab claims and manager-team invitations

Revision ID: a7c1d2e3f907
Revises: a7c1e2d3f4b5
Create Date: 2026-12-03 16:45:00

Unmanaged labs can be claimed (proof by e-mail at the lab's web domain, or approval by an
admin or a coordinator of the lab's networks), and a lab's managers invite further managers
by e-mail (DESIGN rule 10). Two new tables; no existing row changes.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7c1d2e3f907'
down_revision = 'a7c1e2d3f4b5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lab_claim',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lab_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('decision_reason', sa.Text(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("method IN ('domain', 'approval')", name=op.f('ck_lab_claim_method')),
        sa.CheckConstraint("status IN ('open', 'approved', 'declined', 'cancelled')",
                           name=op.f('ck_lab_claim_status')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'],
                                name=op.f('fk_lab_claim_decided_by_id_user_account'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_lab_claim_lab_id_lab'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_lab_claim_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_claim')),
    )
    with op.batch_alter_table('lab_claim', schema=None) as batch_op:
        batch_op.create_index('ix_lab_claim_status_created', ['status', 'created_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_lab_claim_lab_id'), ['lab_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_claim_user_id'), ['user_id'], unique=False)
        # One open claim per person and lab.
        batch_op.create_index('uq_lab_claim_open', ['lab_id', 'user_id'], unique=True,
                              sqlite_where=sa.text("status = 'open'"),
                              postgresql_where=sa.text("status = 'open'"))

    op.create_table(
        'lab_invitation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lab_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('is_handover', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('invited_by_id', sa.Integer(), nullable=True),
        sa.Column('accepted_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'accepted', 'cancelled')",
                           name=op.f('ck_lab_invitation_status')),
        sa.ForeignKeyConstraint(['accepted_by_id'], ['user_account.id'],
                                name=op.f('fk_lab_invitation_accepted_by_id_user_account'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['invited_by_id'], ['user_account.id'],
                                name=op.f('fk_lab_invitation_invited_by_id_user_account'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_lab_invitation_lab_id_lab'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_invitation')),
    )
    with op.batch_alter_table('lab_invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_invitation_lab_id'), ['lab_id'], unique=False)


def downgrade():
    with op.batch_alter_table('lab_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_invitation_lab_id'))
    op.drop_table('lab_invitation')
    with op.batch_alter_table('lab_claim', schema=None) as batch_op:
        batch_op.drop_index('uq_lab_claim_open', sqlite_where=sa.text("status = 'open'"),
                            postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index(batch_op.f('ix_lab_claim_user_id'))
        batch_op.drop_index(batch_op.f('ix_lab_claim_lab_id'))
        batch_op.drop_index('ix_lab_claim_status_created')
    op.drop_table('lab_claim')
