"""A card proof as a one-page PDF the size of an ID card (CR80), marked SPESIMEN.

The proof carries what the queue knows (job, station, area, the resident's pseudonym); the
personal data on the real card comes from SIAK at the printer, never from this service.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CARD_WIDTH_PT = 242.6  # 85.6 mm
CARD_HEIGHT_PT = 153.0  # 53.98 mm


@dataclass(frozen=True)
class CardProof:
    job_id: str
    attempt: int
    station_id: str
    resident_id: str
    kecamatan: str
    desa: str
    reason: str
    printed_on: str


def _text(value: str) -> str:
    """A PDF literal string: printable ASCII only, with \\, ( and ) escaped."""
    clean = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in value)
    return "(" + clean.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def _content(proof: CardProof) -> bytes:
    lines = [
        "PROVINSI BENGKULU - KABUPATEN REJANG LEBONG",
        f"Pekerjaan: {proof.job_id} (ke-{proof.attempt})",
        f"Penduduk: {proof.resident_id}",
        f"Kecamatan: {proof.kecamatan}",
        f"Desa/Kel.: {proof.desa}",
        f"Alasan: {proof.reason}   Stasiun: {proof.station_id}",
        f"Dicetak: {proof.printed_on}",
    ]
    angle = math.atan2(CARD_HEIGHT_PT, CARD_WIDTH_PT)
    cos, sin = math.cos(angle), math.sin(angle)
    ops = ["0.6 w 4 4 234.6 145 re S", "BT /F1 9 Tf 10 136 Td (KARTU TANDA PENDUDUK ELEKTRONIK) Tj ET"]
    y = 122.0
    for line in lines:
        ops.append(f"BT /F1 6 Tf 10 {y:.1f} Td {_text(line)} Tj ET")
        y -= 10.5
    ops.append(f"q 0.75 g BT /F1 34 Tf {cos:.4f} {sin:.4f} {-sin:.4f} {cos:.4f} 38 22 Tm (SPESIMEN) Tj ET Q")
    ops.append("BT /F1 5 Tf 10 8 Td (SPESIMEN - bukti cetak, bukan dokumen kependudukan) Tj ET")
    return "\n".join(ops).encode("ascii")


def render_pdf(proof: CardProof) -> bytes:
    """The proof as PDF bytes (PDF 1.4, one page, Helvetica)."""
    content = _content(proof)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {CARD_WIDTH_PT} {CARD_HEIGHT_PT}] "
         "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>").encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
