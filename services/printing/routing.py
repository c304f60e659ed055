"""Routing a print job to a station: the station serving the resident's kecamatan, else the fallback."""

from __future__ import annotations

from shared.stations import StationDirectory


def station_for(kecamatan_code: str, directory: StationDirectory) -> str:
    for station in directory.stations.values():
        if not station.fallback and kecamatan_code in station.kecamatan_codes:
            return station.station_id
    return directory.fallback.station_id
