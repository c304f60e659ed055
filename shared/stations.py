"""Reference data: the print stations (each also a blangko stock location) and the regency warehouse.

Read from data/stations/print_stations.csv (or EKTP_STATIONS_CSV). Routing a job to a station
is a rule of the printing service; this module only reads the list.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

STATIONS_CSV = Path(__file__).resolve().parents[1] / "data/stations/print_stations.csv"
WAREHOUSE = "gudang"
WAREHOUSE_NAME = "Gudang blangko Dinas Dukcapil"
STATION_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,47}$")


@dataclass(frozen=True)
class Station:
    station_id: str
    name: str
    kecamatan_codes: frozenset[str]
    fallback: bool


@dataclass(frozen=True)
class StationDirectory:
    stations: dict[str, Station]

    @property
    def fallback(self) -> Station:
        return next(s for s in self.stations.values() if s.fallback)

    @property
    def locations(self) -> dict[str, str]:
        """Every blangko stock location id and its name: the warehouse, then each station."""
        return {WAREHOUSE: WAREHOUSE_NAME, **{s.station_id: s.name for s in self.stations.values()}}


@cache
def load_stations(path: Path | None = None) -> StationDirectory:
    """Read and check the station list once per process."""
    path = path or Path(os.environ.get("EKTP_STATIONS_CSV", STATIONS_CSV))
    stations: dict[str, Station] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            station_id = row["station_id"].strip()
            if not STATION_ID.match(station_id) or station_id == WAREHOUSE:
                raise ValueError(f"{path}:{line}: station_id {station_id!r} is not a valid id")
            stations[station_id] = Station(
                station_id, row["nama"].strip(), frozenset(row["kecamatan_codes"].split()),
                row["cadangan"].strip().lower() in {"ya", "yes", "true", "1"},
            )
    if sum(s.fallback for s in stations.values()) != 1:
        raise ValueError(f"{path}: exactly one station must have cadangan=ya")
    return StationDirectory(stations)
