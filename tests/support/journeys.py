"""Many residents' journeys across every topic, for projection tests: (topic, key, event) in causal order.

Stock commands are followed by the ledger's outcome of each (`tests.support.ledger_outcomes`), which
is what coverage counts.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from shared.areas import load_areas
from shared.topics import OUTREACH, PRINT, RECORDING, RESIDENT, STOCK
from tests.support.events import make, moment
from tests.support.ledger_outcomes import with_ledger_outcomes


def _nik(kecamatan: str, birth: dt.date, sex: str, serial: int) -> str:
    day = birth.day + (40 if sex == "P" else 0)
    return f"{kecamatan.replace('.', '')}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


def journeys(rng: random.Random, residents: int, *, tag: str) -> list[tuple[str, str, Any]]:
    """Events of `residents` residents plus visits and a blangko ledger, each resident at a random stage."""
    areas = load_areas()
    villages = sorted(areas.villages.values(), key=lambda v: v.code)
    out: list[tuple[str, str, Any]] = []
    out.append((STOCK.name, "gudang", make("stock.received", at=moment(1), location_id="gudang", quantity=300)))
    out.append((STOCK.name, "gudang", make("stock.transfer_sent", at=moment(2), transfer_id=f"tr-{tag}",
                                           from_location="gudang", to_location="dinas-curup", quantity=120)))
    out.append((STOCK.name, "gudang", make("stock.transfer_received", at=moment(3), transfer_id=f"tr-{tag}",
                                           from_location="gudang", to_location="dinas-curup", quantity=120)))
    for i in range(residents):
        rid = f"r-{tag}-{i:04d}"
        village = rng.choice(villages)
        sex = rng.choice("LP")
        birth = dt.date(rng.randint(1940, 2008), rng.randint(1, 12), rng.randint(1, 28))
        school = f"107{rng.randint(10, 24):02d}00{rng.randint(1, 2)}" if birth.year >= 2007 else None
        common = {"resident_id": rid, "kecamatan_code": village.kecamatan_code, "desa_code": village.code}
        roster = {**common, "nik": _nik(village.kecamatan_code, birth, sex, i + 1), "name": f"Uji {tag} {i}",
                  "sex": sex, "birth_date": birth, "school_npsn": school, "disabilitas": rng.random() < 0.1,
                  "wajib_ktp_from": birth.replace(year=birth.year + 17)}
        out.append((RESIDENT.name, rid, make("resident.enrolled", at=moment(1, 8), **roster)))
        if rng.random() < 0.2:
            moved = rng.choice([v for v in villages if v.kecamatan_code == village.kecamatan_code])
            out.append((RESIDENT.name, rid, make("resident.updated", at=moment(2, 8), **{
                **roster, "desa_code": moved.code, "reason": "pindah desa"})))
            common["desa_code"] = moved.code
        stage = rng.random()
        if stage < 0.15:
            continue
        if rng.random() < 0.2:
            out.append((RECORDING.name, rid, make("recording.failed", at=moment(3, 10), **common)))
        if stage < 0.25:
            continue
        out.append((RECORDING.name, rid, make("recording.captured", at=moment(4, 10), **common)))
        status = "DUPLICATE_RECORD" if stage < 0.3 else "PRR"
        out.append((RECORDING.name, rid, make("recording.siak_status", at=moment(6), status="SFE",
                                              status_at=moment(5), **common)))
        out.append((RECORDING.name, rid, make("recording.siak_status", at=moment(8), status=status,
                                              status_at=moment(7), **common)))
        if status != "PRR" or stage < 0.4:
            continue
        job = f"job-{tag}-{i:04d}"
        out.append((PRINT.name, "dinas-curup", make("print.job_queued", at=moment(9), job_id=job, **common)))
        if stage < 0.6:
            continue
        reservation = f"{job}.1.1"
        out.append((STOCK.name, "dinas-curup", make("stock.reserved", at=moment(10), location_id="dinas-curup",
                                                    reservation_id=reservation, job_id=job)))
        out.append((PRINT.name, "dinas-curup", make("print.printed", at=moment(11), job_id=job,
                                                    reservation_id=reservation)))
        out.append((STOCK.name, "dinas-curup", make("stock.consumed", at=moment(11), location_id="dinas-curup",
                                                    reservation_id=reservation, job_id=job)))
        if stage < 0.8:
            continue
        out.append((PRINT.name, "dinas-curup", make("print.handed_over", at=moment(12), job_id=job, via="langsung",
                                                    delivery_id=None, **common)))
        if stage > 0.95:
            out.append((RESIDENT.name, rid, make("resident.left", at=moment(20), reason="meninggal",
                                                 effective_date=dt.date(2024, 3, 20), **common)))
    out.append((STOCK.name, "dinas-curup", make("stock.spoiled", at=moment(13), location_id="dinas-curup", quantity=2,
                                                reservation_id=None, job_id=None, reason="blangko_rusak")))
    out.append((STOCK.name, "gudang", make("stock.count_corrected", at=moment(14), location_id="gudang",
                                           counted=170)))
    for n, village in enumerate(rng.sample(villages, 5)):
        visit = f"visit-{tag}-{n}"
        ref = {"visit_id": visit, "kecamatan_code": village.kecamatan_code}
        out.append((OUTREACH.name, visit, make("visit.scheduled", at=moment(1), date=dt.date(2024, 3, 4 + n),
                                               kind="desa", place_code=village.code, targets=[], **ref)))
        out.append((OUTREACH.name, visit, make("visit.closed", at=moment(4 + n), no_shows=[], **ref)))
    return with_ledger_outcomes(out)
