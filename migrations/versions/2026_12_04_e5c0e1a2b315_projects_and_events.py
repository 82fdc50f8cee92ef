"""projects and events

Revision ID: e5c0e1a2b315
Revises: a9e1c0de1701
Create Date: 2026-12-04 15:28:20

Issue 15 §1-2: transnational projects (partners, managers, KET areas) and events (kinds,
sessions, organisers that are labs/networks/projects, KET areas). ``event.seats_taken`` with
the CHECK ``capacity IS NULL OR seats_taken <= capacity`` lets the database hold capacity.
New tables only; no existing row changes.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e5c0e1a2b315'
down_revision = 'a9e1c0de1701'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=140), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('city', sa.String(length=120), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('coords_source', sa.String(length=10), nullable=True),
    sa.Column('online_url', sa.String(length=500), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('seats_taken', sa.Integer(), nullable=False),
    sa.Column('registration_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('price_sme_cents', sa.Integer(), nullable=True),
    sa.Column('price_standard_cents', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('prerequisites', sa.Text(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('offer_hours', sa.Integer(), nullable=False),
    sa.Column('meeting_slot_minutes', sa.Integer(), nullable=True),
    sa.Column('meeting_day_start', sa.Time(), nullable=True),
    sa.Column('meeting_day_end', sa.Time(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("coords_source IS NULL OR coords_source IN ('gazetteer', 'online', 'manual', 'seed')", name=op.f('ck_event_coords_source')),
    sa.CheckConstraint("kind IN ('training_course', 'workshop', 'open_lab_day', 'conference', 'project_meeting', 'webinar')", name=op.f('ck_event_kind')),
    sa.CheckConstraint("status IN ('draft', 'published', 'cancelled')", name=op.f('ck_event_status')),
    sa.CheckConstraint('capacity IS NULL OR capacity >= 0', name=op.f('ck_event_capacity')),
    sa.CheckConstraint('capacity IS NULL OR seats_taken <= capacity', name=op.f('ck_event_seats')),
    sa.CheckConstraint('country IS NULL OR length(country) = 2', name=op.f('ck_event_country')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_event_span')),
    sa.CheckConstraint('latitude IS NULL OR (latitude >= -90 AND latitude <= 90)', name=op.f('ck_event_lat')),
    sa.CheckConstraint('longitude IS NULL OR (longitude >= -180 AND longitude <= 180)', name=op.f('ck_event_lon')),
    sa.CheckConstraint('meeting_slot_minutes IS NULL OR meeting_slot_minutes > 0', name=op.f('ck_event_meeting_slot')),
    sa.CheckConstraint('offer_hours >= 1', name=op.f('ck_event_offer_hours')),
    sa.CheckConstraint('price_sme_cents IS NULL OR price_sme_cents >= 0', name=op.f('ck_event_price_sme')),
    sa.CheckConstraint('price_standard_cents IS NULL OR price_standard_cents >= 0', name=op.f('ck_event_price_standard')),
    sa.CheckConstraint('seats_taken >= 0', name=op.f('ck_event_seats_taken')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_event_created_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event')),
    sa.UniqueConstraint('slug', name=op.f('uq_event_slug'))
    )
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_country_starts', ['country', 'starts_at'], unique=False)
        batch_op.create_index('ix_event_status_ends', ['status', 'ends_at'], unique=False)
        batch_op.create_index('ix_event_status_starts', ['status', 'starts_at', 'id'], unique=False)

    op.create_table('project',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('acronym', sa.String(length=40), nullable=False),
    sa.Column('programme', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('website', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('starts_on IS NULL OR ends_on IS NULL OR ends_on >= starts_on', name=op.f('ck_project_dates')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_project_created_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project')),
    sa.UniqueConstraint('slug', name=op.f('uq_project_slug'))
    )
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.create_index('ix_project_name', ['name', 'id'], unique=False)

    op.create_table('event_ket',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('ket_code', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_ket_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ket_code'], ['ket_area.code'], name=op.f('fk_event_ket_ket_code_ket_area')),
    sa.PrimaryKeyConstraint('event_id', 'ket_code', name=op.f('pk_event_ket'))
    )
    with op.batch_alter_table('event_ket', schema=None) as batch_op:
        batch_op.create_index('ix_event_ket_ket_event', ['ket_code', 'event_id'], unique=False)

    op.create_table('event_organiser',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=True),
    sa.Column('network_id', sa.Integer(), nullable=True),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(CASE WHEN lab_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN network_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN project_id IS NULL THEN 0 ELSE 1 END) = 1', name=op.f('ck_event_organiser_one')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_organiser_event_id_event'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], name=op.f('fk_event_organiser_lab_id_lab'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['network_id'], ['network.id'], name=op.f('fk_event_organiser_network_id_network'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_event_organiser_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_organiser'))
    )
    with op.batch_alter_table('event_organiser', schema=None) as batch_op:
        batch_op.create_index('ix_event_organiser_lab_event', ['lab_id', 'event_id'], unique=False)
        batch_op.create_index('ix_event_organiser_network_event', ['network_id', 'event_id'], unique=False)
        batch_op.create_index('ix_event_organiser_project_event', ['project_id', 'event_id'], unique=False)
        batch_op.create_index('uq_event_organiser_lab', ['event_id', 'lab_id'], unique=True)
        batch_op.create_index('uq_event_organiser_network', ['event_id', 'network_id'], unique=True)
        batch_op.create_index('uq_event_organiser_project', ['event_id', 'project_id'], unique=True)

    op.create_table('event_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_event_session_span')),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_event_session_event_id_event'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_session'))
    )
    with op.batch_alter_table('event_session', schema=None) as batch_op:
        batch_op.create_index('ix_event_session_event_starts', ['event_id', 'starts_at'], unique=False)

    op.create_table('project_ket',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('ket_code', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['ket_code'], ['ket_area.code'], name=op.f('fk_project_ket_ket_code_ket_area')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_ket_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'ket_code', name=op.f('pk_project_ket'))
    )
    with op.batch_alter_table('project_ket', schema=None) as batch_op:
        batch_op.create_index('ix_project_ket_ket_project', ['ket_code', 'project_id'], unique=False)

    op.create_table('project_manager',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['granted_by_id'], ['user_account.id'], name=op.f('fk_project_manager_granted_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_manager_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_project_manager_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'user_id', name=op.f('pk_project_manager'))
    )
    with op.batch_alter_table('project_manager', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_manager_user_id'), ['user_id'], unique=False)

    op.create_table('project_partner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("organisation_id IS NOT NULL OR (name <> '' AND country IS NOT NULL)", name=op.f('ck_project_partner_who')),
    sa.CheckConstraint('country IS NULL OR length(country) = 2', name=op.f('ck_project_partner_country')),
    sa.ForeignKeyConstraint(['added_by_id'], ['user_account.id'], name=op.f('fk_project_partner_added_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_project_partner_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_partner_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_partner'))
    )
    with op.batch_alter_table('project_partner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_partner_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_partner_project_id'), ['project_id'], unique=False)
        batch_op.create_index('uq_project_partner_org', ['project_id', 'organisation_id'], unique=True)



def downgrade():
    with op.batch_alter_table('project_partner', schema=None) as batch_op:
        batch_op.drop_index('uq_project_partner_org')
        batch_op.drop_index(batch_op.f('ix_project_partner_project_id'))
        batch_op.drop_index(batch_op.f('ix_project_partner_organisation_id'))

    op.drop_table('project_partner')
    with op.batch_alter_table('project_manager', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_manager_user_id'))

    op.drop_table('project_manager')
    with op.batch_alter_table('project_ket', schema=None) as batch_op:
        batch_op.drop_index('ix_project_ket_ket_project')

    op.drop_table('project_ket')
    with op.batch_alter_table('event_session', schema=None) as batch_op:
        batch_op.drop_index('ix_event_session_event_starts')

    op.drop_table('event_session')
    with op.batch_alter_table('event_organiser', schema=None) as batch_op:
        batch_op.drop_index('uq_event_organiser_project')
        batch_op.drop_index('uq_event_organiser_network')
        batch_op.drop_index('uq_event_organiser_lab')
        batch_op.drop_index('ix_event_organiser_project_event')
        batch_op.drop_index('ix_event_organiser_network_event')
        batch_op.drop_index('ix_event_organiser_lab_event')

    op.drop_table('event_organiser')
    with op.batch_alter_table('event_ket', schema=None) as batch_op:
        batch_op.drop_index('ix_event_ket_ket_event')

    op.drop_table('event_ket')
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index('ix_project_name')

    op.drop_table('project')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_status_starts')
        batch_op.drop_index('ix_event_status_ends')
        batch_op.drop_index('ix_event_country_starts')

    op.drop_table('event')
