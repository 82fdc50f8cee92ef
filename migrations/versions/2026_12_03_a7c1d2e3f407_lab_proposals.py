"""lab proposals: members of research organisations propose new labs

Revision ID: a7c1d2e3f407
Revises: a7c1d2e3f907
Create Date: 2026-12-03 17:00:00

Labs join the platform (issue 12 §1, DESIGN rule 10): a member proposes a draft lab of
their organisation and its organisation admins (or LabNet admins) approve or decline it.
One new table; existing labs need no row (they were never proposals).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7c1d2e3f407'
down_revision = 'a7c1d2e3f907'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lab_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('lab_name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'approved', 'declined')", name=op.f('ck_lab_proposal_status')),
    sa.CheckConstraint("(status = 'declined') = (lab_id IS NULL)", name=op.f('ck_lab_proposal_lab')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_lab_proposal_decided_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_lab_proposal_lab_id_lab'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_lab_proposal_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['user_account.id'], name=op.f('fk_lab_proposal_proposed_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_proposal')),
    sa.UniqueConstraint('lab_id', name=op.f('uq_lab_proposal_lab_id'))
    )
    with op.batch_alter_table('lab_proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_proposal_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_proposal_proposed_by_id'), ['proposed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_proposal_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('lab_proposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_proposal_status'))
        batch_op.drop_index(batch_op.f('ix_lab_proposal_proposed_by_id'))
        batch_op.drop_index(batch_op.f('ix_lab_proposal_organisation_id'))
    op.drop_table('lab_proposal')
