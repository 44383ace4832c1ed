"""PostGIS geometry columns and daily ping partitions (PostgreSQL only)

The WKT and lat/lon columns stay the source of truth on every backend, so the ORM and
SQLite are untouched; on PostgreSQL each spatial table gains a ``geom`` column generated
from them (QGIS opens these as layers) with a GiST index, and ``pings`` becomes a table
partitioned by day on ``fix_time``, so retention drops whole days instead of deleting
rows. Daily partitions are created by ``fleet db maintain``; until then, and for any
day without one, rows land in ``pings_default``.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: table -> (geometry type, expression computing it from the stored columns)
GEOMETRIES: dict[str, tuple[str, str]] = {
    "routes": ("LineString", "ST_GeomFromText(wkt, 4326)"),
    "streets": ("LineString", "ST_GeomFromText(wkt, 4326)"),
    "kecamatan": ("MultiPolygon", "ST_Multi(ST_GeomFromText(wkt, 4326))"),
    "kelurahan": ("MultiPolygon", "ST_Multi(ST_GeomFromText(wkt, 4326))"),
    "sites": ("MultiPolygon", "ST_Multi(ST_GeomFromText(wkt, 4326))"),
    "bins": ("Point", "ST_SetSRID(ST_MakePoint(lon, lat), 4326)"),
    "pings": ("Point", "ST_SetSRID(ST_MakePoint(lon, lat), 4326)"),
    "truck_state": ("Point", "ST_SetSRID(ST_MakePoint(lon, lat), 4326)"),
}

PARTITION_PINGS = (
    "ALTER TABLE pings RENAME TO pings_unpartitioned",
    "ALTER TABLE pings_unpartitioned RENAME CONSTRAINT pings_pkey TO pings_unpartitioned_pkey",
    "ALTER TABLE pings_unpartitioned RENAME CONSTRAINT uq_pings_device_fix_time"
    " TO uq_pings_unpartitioned",
    "ALTER INDEX ix_pings_truck_fix_time RENAME TO ix_pings_unpartitioned",
    "CREATE TABLE pings (LIKE pings_unpartitioned INCLUDING DEFAULTS)"
    " PARTITION BY RANGE (fix_time)",
    # The unique key must hold the partition key: (device_id, fix_time) already does,
    # so INSERT ... ON CONFLICT DO NOTHING keeps deduplicating across partitions.
    "ALTER TABLE pings ADD CONSTRAINT pings_pkey PRIMARY KEY (id, fix_time),"
    " ADD CONSTRAINT uq_pings_device_fix_time UNIQUE (device_id, fix_time),"
    " ADD CONSTRAINT pings_device_id_fkey FOREIGN KEY (device_id) REFERENCES devices (id),"
    " ADD CONSTRAINT pings_truck_id_fkey FOREIGN KEY (truck_id) REFERENCES trucks (id)",
    "CREATE INDEX ix_pings_truck_fix_time ON pings (truck_id, fix_time)",
    "CREATE TABLE pings_default PARTITION OF pings DEFAULT",
    "INSERT INTO pings SELECT * FROM pings_unpartitioned",
)

UNPARTITION_PINGS = (
    "ALTER TABLE pings RENAME TO pings_partitioned",
    "ALTER TABLE pings_partitioned RENAME CONSTRAINT pings_pkey TO pings_partitioned_pkey",
    "ALTER TABLE pings_partitioned RENAME CONSTRAINT uq_pings_device_fix_time"
    " TO uq_pings_partitioned",
    "ALTER INDEX ix_pings_truck_fix_time RENAME TO ix_pings_partitioned",
    "CREATE TABLE pings (LIKE pings_partitioned INCLUDING DEFAULTS)",
    "ALTER TABLE pings ADD CONSTRAINT pings_pkey PRIMARY KEY (id),"
    " ADD CONSTRAINT uq_pings_device_fix_time UNIQUE (device_id, fix_time),"
    " ADD CONSTRAINT pings_device_id_fkey FOREIGN KEY (device_id) REFERENCES devices (id),"
    " ADD CONSTRAINT pings_truck_id_fkey FOREIGN KEY (truck_id) REFERENCES trucks (id)",
    "CREATE INDEX ix_pings_truck_fix_time ON pings (truck_id, fix_time)",
    "INSERT INTO pings SELECT * FROM pings_partitioned",
)


def _move_sequence(old_table: str) -> None:
    """Hand the id sequence to the new ``pings`` before the old table (its owner) goes."""
    bind = op.get_bind()
    sequence = bind.exec_driver_sql(
        f"SELECT pg_get_serial_sequence('{old_table}', 'id')"
    ).scalar_one()
    op.execute(f"ALTER SEQUENCE {sequence} OWNED BY pings.id")
    op.execute(f"DROP TABLE {old_table}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    for statement in PARTITION_PINGS:
        op.execute(statement)
    _move_sequence("pings_unpartitioned")
    for table, (kind, expression) in GEOMETRIES.items():
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN geom geometry({kind}, 4326)"
            f" GENERATED ALWAYS AS ({expression}) STORED"
        )
        op.execute(f"CREATE INDEX ix_{table}_geom ON {table} USING gist (geom)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in GEOMETRIES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN geom")
    for statement in UNPARTITION_PINGS:
        op.execute(statement)
    _move_sequence("pings_partitioned")
