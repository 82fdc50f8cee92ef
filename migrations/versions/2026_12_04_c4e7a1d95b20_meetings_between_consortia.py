"""meetings between consortia

Revision ID: c4e7a1d95b20
Revises: 7b3e9d1c4a20
Create Date: 2026-12-04 15:31:30.479506

Issue 15 §5: meeting profiles, 1:1 meetings in an event's slots, and ``meeting_slot_taken``
whose unique key (event, person, slot start) lets the database refuse a second accepted
meeting of anyone in one slot. New tables only; no existing row changes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e7a1d95b20'
down_revision = '7b3e9d1c4a20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('invitee_id', sa.Integer(), nullable=False),
    sa.Column('slot_start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('slot_end_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_note', sa.String(length=300), nullable=False),
    sa.CheckConstraint("status IN ('requested', 'accepted', 'declined', 'withdrawn', 'cancelled')", name=op.f('ck_meeting_status')),
    sa.CheckConstraint('requester_id <> invitee_id', name=op.f('ck_meeting_two_people')),
    sa.CheckConstraint('slot_end_at > slot_start_at', name=op.f('ck_meeting_span')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_meeting_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invitee_id'], ['user_account.id'], name=op.f('fk_meeting_invitee_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requester_id'], ['user_account.id'], name=op.f('fk_meeting_requester_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting'))
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index('ix_meeting_event_status', ['event_id', 'status'], unique=False)
        batch_op.create_index('ix_meeting_invitee', ['invitee_id', 'event_id'], unique=False)
        batch_op.create_index('ix_meeting_requester', ['requester_id', 'event_id'], unique=False)

    op.create_table('meeting_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('offer', sa.String(length=600), nullable=False),
    sa.Column('looking_for', sa.String(length=600), nullable=False),
    sa.Column('ket_codes', sa.JSON(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_meeting_profile_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_meeting_profile_project_id_project'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_meeting_profile_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_profile')),
    sa.UniqueConstraint('event_id', 'user_id', name='uq_meeting_profile_person')
    )
    with op.batch_alter_table('meeting_profile', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_profile_user_id'), ['user_id'], unique=False)

    op.create_table('meeting_slot_taken',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('slot_start_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_meeting_slot_taken_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_slot_taken_meeting_id_meeting'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_meeting_slot_taken_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_slot_taken')),
    sa.UniqueConstraint('event_id', 'user_id', 'slot_start_at', name='uq_meeting_slot_taken_person_slot')
    )
    with op.batch_alter_table('meeting_slot_taken', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_slot_taken_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_slot_taken_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('meeting_slot_taken', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_slot_taken_user_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_slot_taken_meeting_id'))

    op.drop_table('meeting_slot_taken')
    with op.batch_alter_table('meeting_profile', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_profile_user_id'))

    op.drop_table('meeting_profile')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index('ix_meeting_requester')
        batch_op.drop_index('ix_meeting_invitee')
        batch_op.drop_index('ix_meeting_event_status')

    op.drop_table('meeting')
