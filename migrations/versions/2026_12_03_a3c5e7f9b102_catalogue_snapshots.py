"""catalogue snapshots: the bare catalogue's facet counts and the map's GeoJSON, kept on writes

Revision ID: a3c5e7f9b102
Revises: a7c3e9d1b210
Create Date: 2026-12-03 16:40:00

Both rows are created unbuilt (empty etag): readers compute live until the first catalogue
write rebuilds them, and every writer finds a row to lock (no race on the first insert).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3c5e7f9b102'
down_revision = 'a7c3e9d1b210'
branch_labels = None
depends_on = None


def upgrade():
    snapshot = op.create_table('catalogue_snapshot',
    sa.Column('name', sa.String(length=20), nullable=False),
    sa.Column('variant', sa.String(length=200), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('body_gz', sa.LargeBinary(), nullable=True),
    sa.Column('etag', sa.String(length=64), nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_catalogue_snapshot'))
    )
    op.bulk_insert(snapshot, [{'name': 'facets', 'variant': '', 'etag': ''},
                              {'name': 'map', 'variant': '', 'etag': ''}])


def downgrade():
    op.drop_table('catalogue_snapshot')
