"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 13:00:58.582526
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fleet.models

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("truck_id", sa.String(length=16), nullable=True),
        sa.Column("route_id", sa.String(length=16), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("created_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", fleet.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key", name="uq_alert_dedupe"),
    )
    op.create_table(
        "kecamatan",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kode", sa.String(length=32), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("kelurahan", sa.JSON(), nullable=False),
        sa.Column("wkt", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "sites",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kecamatan", sa.String(length=64), nullable=False),
        sa.Column("wkt", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "streets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kecamatan", sa.String(length=64), nullable=False),
        sa.Column("kelurahan", sa.String(length=64), nullable=True),
        sa.Column("road_class", sa.String(length=16), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("wkt", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("streets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_streets_name"), ["name"], unique=False)

    op.create_table(
        "trucks",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=64), nullable=False),
        sa.Column("truck_id", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_contact_at", fleet.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_fix_at", fleet.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["truck_id"],
            ["trucks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("identifier"),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_truck_id"), ["truck_id"], unique=False)

    op.create_table(
        "kelurahan",
        sa.Column("kode", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kecamatan", sa.String(length=64), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("wkt", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kecamatan"],
            ["kecamatan.name"],
        ),
        sa.PrimaryKeyConstraint("kode"),
    )
    with op.batch_alter_table("kelurahan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kelurahan_name"), ["name"], unique=False)

    op.create_table(
        "routes",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kecamatan", sa.String(length=64), nullable=False),
        sa.Column("truck_id", sa.String(length=16), nullable=True),
        sa.Column("color", sa.String(length=16), nullable=False),
        sa.Column("schedule_days", sa.JSON(), nullable=False),
        sa.Column("shift_start", sa.String(length=5), nullable=False),
        sa.Column("shift_end", sa.String(length=5), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("collection_start_m", sa.Float(), nullable=False),
        sa.Column("collection_end_m", sa.Float(), nullable=False),
        sa.Column("wkt", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["truck_id"],
            ["trucks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_routes_truck_id"), ["truck_id"], unique=False)

    op.create_table(
        "site_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("truck_id", sa.String(length=16), nullable=False),
        sa.Column("site_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("entered_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("left_at", fleet.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
        ),
        sa.ForeignKeyConstraint(
            ["truck_id"],
            ["trucks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("truck_id", "site_id", "entered_at", name="uq_site_visit"),
    )
    with op.batch_alter_table("site_visits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_site_visits_service_date"), ["service_date"], unique=False
        )

    op.create_table(
        "truck_state",
        sa.Column("truck_id", sa.String(length=16), nullable=False),
        sa.Column("route_id", sa.String(length=16), nullable=True),
        sa.Column("fix_time", fleet.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("heading_deg", sa.Float(), nullable=True),
        sa.Column("speed_mps", sa.Float(), nullable=True),
        sa.Column("progress_m", sa.Float(), nullable=True),
        sa.Column("on_route", sa.Boolean(), nullable=True),
        sa.Column("matcher", sa.JSON(), nullable=True),
        sa.Column("geofence", sa.JSON(), nullable=True),
        sa.Column("last_moved_at", fleet.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", fleet.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["truck_id"],
            ["trucks.id"],
        ),
        sa.PrimaryKeyConstraint("truck_id"),
    )
    op.create_table(
        "bins",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kecamatan", sa.String(length=64), nullable=False),
        sa.Column("kelurahan", sa.String(length=64), nullable=False),
        sa.Column("route_id", sa.String(length=16), nullable=False),
        sa.Column("progress_m", sa.Float(), nullable=False),
        sa.Column("street", sa.String(length=128), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["route_id"],
            ["routes.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bins_kecamatan"), ["kecamatan"], unique=False)
        batch_op.create_index(batch_op.f("ix_bins_route_id"), ["route_id"], unique=False)

    op.create_table(
        "pings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("truck_id", sa.String(length=16), nullable=False),
        sa.Column("fix_time", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("speed_mps", sa.Float(), nullable=True),
        sa.Column("heading_deg", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("altitude_m", sa.Float(), nullable=True),
        sa.Column("battery_pct", sa.Float(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.Column("route_id", sa.String(length=16), nullable=True),
        sa.Column("progress_m", sa.Float(), nullable=True),
        sa.Column("snap_lat", sa.Float(), nullable=True),
        sa.Column("snap_lon", sa.Float(), nullable=True),
        sa.Column("offset_m", sa.Float(), nullable=True),
        sa.Column("on_route", sa.Boolean(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
        ),
        sa.ForeignKeyConstraint(
            ["truck_id"],
            ["trucks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("device_id", "fix_time", name="uq_pings_device_fix_time"),
    )
    with op.batch_alter_table("pings", schema=None) as batch_op:
        batch_op.create_index("ix_pings_truck_fix_time", ["truck_id", "fix_time"], unique=False)

    op.create_table(
        "route_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("route_id", sa.String(length=16), nullable=False),
        sa.Column("truck_id", sa.String(length=16), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("driven", sa.JSON(), nullable=False),
        sa.Column("driven_m", sa.Float(), nullable=False),
        sa.Column("updated_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["route_id"],
            ["routes.id"],
        ),
        sa.ForeignKeyConstraint(
            ["truck_id"],
            ["trucks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("route_id", "truck_id", "service_date", name="uq_route_day"),
    )
    with op.batch_alter_table("route_days", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_route_days_service_date"), ["service_date"], unique=False
        )

    op.create_table(
        "bin_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bin_id", sa.String(length=16), nullable=False),
        sa.Column("truck_id", sa.String(length=16), nullable=False),
        sa.Column("route_id", sa.String(length=16), nullable=False),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("first_time", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_time", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closest_m", sa.Float(), nullable=False),
        sa.Column("dwell_s", sa.Float(), nullable=False),
        sa.Column("min_speed_mps", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("recorded_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bin_id"],
            ["bins.id"],
        ),
        sa.ForeignKeyConstraint(
            ["truck_id"],
            ["trucks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bin_id", "truck_id", "service_date", name="uq_bin_visits_day"),
    )
    with op.batch_alter_table("bin_visits", schema=None) as batch_op:
        batch_op.create_index("ix_bin_visits_date", ["service_date"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("bin_visits", schema=None) as batch_op:
        batch_op.drop_index("ix_bin_visits_date")

    op.drop_table("bin_visits")
    with op.batch_alter_table("route_days", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_route_days_service_date"))

    op.drop_table("route_days")
    with op.batch_alter_table("pings", schema=None) as batch_op:
        batch_op.drop_index("ix_pings_truck_fix_time")

    op.drop_table("pings")
    with op.batch_alter_table("bins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bins_route_id"))
        batch_op.drop_index(batch_op.f("ix_bins_kecamatan"))

    op.drop_table("bins")
    op.drop_table("truck_state")
    with op.batch_alter_table("site_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_visits_service_date"))

    op.drop_table("site_visits")
    with op.batch_alter_table("routes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_routes_truck_id"))

    op.drop_table("routes")
    with op.batch_alter_table("kelurahan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kelurahan_name"))

    op.drop_table("kelurahan")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_truck_id"))

    op.drop_table("devices")
    op.drop_table("users")
    op.drop_table("trucks")
    with op.batch_alter_table("streets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_streets_name"))

    op.drop_table("streets")
    op.drop_table("sites")
    op.drop_table("kecamatan")
    op.drop_table("alerts")
