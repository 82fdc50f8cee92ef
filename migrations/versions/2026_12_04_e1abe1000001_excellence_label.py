"""the LabNet excellence label: applications, answers, verifiers' scores

Revision ID: e1abe1000001
Revises: 8feb769a0fb3
Create Date: 2026-12-04 15:45:00

Issue 14 §2. An awarded application points at the ``accreditation`` row (scheme
``labnet-excellence``) it created; a renewal at the label it renews. ``label_score``'s
unique constraints hold one score per (application, verifier, criterion) and one verifier
per seat (1 and 2 the initial scorers, 3 the third on disagreement) and criterion.
Self-contained: three new tables, nothing else touched.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e1abe1000001'
down_revision = '8feb769a0fb3'
branch_labels = None
depends_on = None

# One application in progress per lab (a partial unique index).
OPEN = "status IN ('draft', 'submitted', 'third')"


def upgrade():
    op.create_table('label_application',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('framework_version', sa.String(length=20), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('figures', sa.JSON(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('level', sa.String(length=10), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('renews_id', sa.Integer(), nullable=True),
    sa.Column('accreditation_id', sa.Integer(), nullable=True),
    sa.Column('lock_seq', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("level IS NULL OR level IN ('bronze', 'silver', 'gold')", name=op.f('ck_label_application_level')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'third', 'awarded', 'not_awarded')", name=op.f('ck_label_application_status')),
    sa.ForeignKeyConstraint(['accreditation_id'], ['accreditation.id'], name=op.f('fk_label_application_accreditation_id_accreditation'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_label_application_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_label_application_lab_id_lab'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['renews_id'], ['accreditation.id'], name=op.f('fk_label_application_renews_id_accreditation'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_application')),
    sa.UniqueConstraint('accreditation_id', name=op.f('uq_label_application_accreditation_id'))
    )
    with op.batch_alter_table('label_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_application_lab_id'), ['lab_id'], unique=False)
        batch_op.create_index('ix_label_application_status', ['status', 'submitted_at'], unique=False)
        batch_op.create_index('uq_label_application_open', ['lab_id'], unique=True,
                              sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))

    op.create_table('label_answer',
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('criterion', sa.String(length=10), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('evidence_url', sa.String(length=500), nullable=False),
    sa.Column('evidence_file', sa.String(length=100), nullable=True),
    sa.Column('evidence_name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['label_application.id'], name=op.f('fk_label_answer_application_id_label_application'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('application_id', 'criterion', name=op.f('pk_label_answer'))
    )
    op.create_table('label_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('verifier_id', sa.Integer(), nullable=True),
    sa.Column('seat', sa.Integer(), nullable=False),
    sa.Column('criterion', sa.String(length=10), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score >= 0 AND score <= 4', name=op.f('ck_label_score_score')),
    sa.CheckConstraint('seat IN (1, 2, 3)', name=op.f('ck_label_score_seat')),
    sa.ForeignKeyConstraint(['application_id'], ['label_application.id'], name=op.f('fk_label_score_application_id_label_application'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['verifier_id'], ['user_account.id'], name=op.f('fk_label_score_verifier_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_score')),
    sa.UniqueConstraint('application_id', 'seat', 'criterion', name='uq_label_score_seat'),
    sa.UniqueConstraint('application_id', 'verifier_id', 'criterion', name='uq_label_score_verifier')
    )
    with op.batch_alter_table('label_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_score_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_label_score_verifier_id'), ['verifier_id'], unique=False)



def downgrade():
    with op.batch_alter_table('label_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_score_verifier_id'))
        batch_op.drop_index(batch_op.f('ix_label_score_application_id'))

    op.drop_table('label_score')
    op.drop_table('label_answer')
    with op.batch_alter_table('label_application', schema=None) as batch_op:
        batch_op.drop_index('uq_label_application_open')
        batch_op.drop_index('ix_label_application_status')
        batch_op.drop_index(batch_op.f('ix_label_application_lab_id'))

    op.drop_table('label_application')
