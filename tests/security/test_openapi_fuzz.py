"""Schemathesis against every operation of each service's /openapi.json, on the real process.

Each operation is fuzzed with a dinas admin key and a kecamatan office key, with data that fits
the schema and with data that does not. No answer may be a server error; an answer must have the
documented content type and, when the status is documented, the documented body; data outside
the schema must be refused. EKTP_FUZZ_EXAMPLES sets the examples per operation, key and mode
(the short form here, a long one for `make test-faults`).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS as CHECK_REGISTRY
from schemathesis.checks import load_all_checks
from schemathesis.config import SchemathesisConfig

from shared.contracts import Role
from tests.integration.helpers import create_office_key

SERVICES = ("intake", "recording", "printing", "inventory", "coverage")
EXAMPLES = int(os.environ.get("EKTP_FUZZ_EXAMPLES", "15"))
# A service's run grows with the examples per operation (a minute per example leaves room for a slow
# machine): the long form must not be cut off by the limit meant for the short one.
pytestmark = [pytest.mark.infra, pytest.mark.timeout(max(900, 60 * EXAMPLES))]
KECAMATAN = "17.02.06"
load_all_checks()
# Every check schemathesis has: status codes, headers and bodies as documented, valid data
# accepted, invalid data refused, auth enforced, Allow headers, resources after deletion.
CHECKS = CHECK_REGISTRY.get_all()
# Schemathesis reaches for routes the schema leaves out of its own accord; only the documented
# operations are fuzzed here.
SKIPPED_PATHS = {"/metrics", "/health", "/health/live", "/health/ready"}
# Schema-valid requests that a rule of the domain refuses with 422 and its reason. An OpenAPI
# schema cannot state these: they depend on the day, on two fields together, on what a file's
# header row holds or on the NIK's structure. Only for these may valid data be answered 422.
RULE_REFUSALS: dict[str, dict[tuple[str, str], str]] = {
    "intake": {
        ("POST", "/residents"): "the NIK agrees with the birth date and sex and names a region; the desa lies in the kecamatan",
        ("PUT", "/residents/{resident_id}"): "the same rules as a registration",
        ("GET", "/cohort"): "tanggal is today or later",
        ("POST", "/imports/dapodik"): "the file is a CSV with the required columns",
        ("POST", "/imports/penduduk"): "the file is a CSV with the required columns",
    },
    "recording": {
        ("POST", "/visits"): "the visit date lies within the window around today (EKTP_RECORDING_VISIT_DAYS_*)",
    },
    "coverage": {
        ("POST", "/status-ktp"): "lookups without an office key are limited per client address (429)",
        ("GET", "/coverage"): "tanggal is today or later",
        ("GET", "/coverage/areas"): "tanggal is today or later; akan_wajib_sampai is not before tanggal",
        ("GET", "/unrecorded"): "exactly one of desa or sekolah",
        ("GET", "/planner/visits"): "minimal is not above maksimal",
    },
}


# A NIK as a clerk types it ("format": "nik" beside its pattern in intake's schema): 16 digits, some groups apart
# by a dot, space or dash. Drawn from its pattern, strings long with separators are nearly all over the
# 40-character limit, and a few minutes of drawing found two or three.
_SEPARATOR = st.sampled_from(["", "", "", ".", " ", "-"])
schemathesis.openapi.format("nik", st.tuples(
    st.lists(st.sampled_from("0123456789"), min_size=16, max_size=16), st.lists(_SEPARATOR, min_size=15, max_size=15),
).map(lambda parts: "".join(digit + separator for digit, separator in zip(parts[0], [*parts[1], ""], strict=True))))


def fuzz_config(service: str) -> SchemathesisConfig:
    """Every check with its defaults, except that the operations of RULE_REFUSALS may refuse valid data,
    and that invalid data may also be refused with 413 (a list longer than its documented maximum is
    answered as too large, like a body over the size limit)."""
    refusals = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
    blocks = [f"checks.negative_data_rejection.expected-statuses = {json.dumps(refusals)}\n"] + [f'''[[operations]]
include-name = "{method} {path}"
checks.positive_data_acceptance.expected-statuses = ["2XX", "401", "403", "404", "409", "422", "429"]
''' for method, path in RULE_REFUSALS.get(service, {})]
    return SchemathesisConfig.from_str("\n".join(blocks))


@pytest.fixture
async def office_keys(mongo_db: Any) -> dict[str, str]:
    return {
        "dinas_admin": await create_office_key(mongo_db, role=Role.DINAS_ADMIN),
        "kecamatan_office": await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KECAMATAN),
    }


def sent_as_generated(case: Any) -> bool:
    """False when a query parameter would vanish on the way: a value such as an empty list or object,
    None, or a list of those, is not written into the URL at all, so a case made invalid only by such a
    parameter reaches the service as a valid request, and answering it 200 is right. The URL is built
    the way the call builds it (requests), and every generated parameter must be in it."""
    query = case.query or {}
    if not query:
        return True
    url = requests.Request("GET", "http://127.0.0.1/", params=query).prepare().url or ""
    sent = {key for key, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    return all(str(key) in sent for key in query)


def _fuzz_operation(operation: Any, *, key: str, mode: GenerationMode) -> str | None:
    """Run the checks on generated cases of one operation; the first failure found, shrunk, or None."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        assume(sent_as_generated(case))
        # The key is sent with the call, not generated: ignored_auth then also tries the operation
        # without it and with a wrong one.
        case.call_and_validate(checks=CHECKS, timeout=60, headers={"X-API-Key": key})

    try:
        run()
    except Unsatisfiable:
        # Nothing of this operation can be made invalid (e.g. its only input is the fixed API key).
        assert mode == GenerationMode.NEGATIVE, f"{operation.label}: no valid input can be generated"
    except (Exception, BaseExceptionGroup) as exc:  # every failure is reported with its operation
        return f"{operation.label} [{mode.value}]: {exc}"
    return None


def fuzz(base_url: str, keys: dict[str, str], *, service: str,
         on_operation: Callable[[str], None] = lambda _: None) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=30, config=fuzz_config(service))
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED_PATHS:
            continue
        operations += 1
        on_operation(operation.label)
        for role, key in keys.items():
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                failure = _fuzz_operation(operation, key=key, mode=mode)
                if failure is not None:
                    failures.append(f"({role}) {failure}")
    assert operations > 0, "the schema lists no operation"
    return failures


@pytest.mark.parametrize("name", SERVICES)
async def test_no_server_error_and_answers_as_documented(
    name: str, start_service: Any, office_keys: dict[str, str],
) -> None:
    service = start_service(name)
    try:
        failures = await asyncio.to_thread(fuzz, service.url, office_keys, service=name)
    finally:
        service.stop()
    if failures:
        pytest.fail(f"{len(failures)} failing operation(s) of {name}:\n\n" + "\n\n".join(failures), pytrace=False)


async def test_inputs_found_by_probing_past_the_schema_answer_a_clear_refusal(
    start_service: Any, office_keys: dict[str, str],
) -> None:
    """Values the fuzzer seldom draws: the last representable date, numbers for dates, a huge CSV cell."""
    admin = {"X-API-Key": office_keys["dinas_admin"]}
    urls = {name: start_service(name).url for name in ("intake", "recording", "coverage")}
    huge_cell = "NIK;STATUS;TANGGAL\n" + "1" * 200_000 + ";SFE;2024-01-01\n"
    resident = {"nik": "1702064507070001", "name": "Contoh Sintetis", "sex": "P", "birth_date": "2007-07-05",
                "marital_status": "belum_kawin", "kecamatan_code": "17.02.06", "desa_code": "17.02.06.2001"}
    async with httpx.AsyncClient(timeout=60, headers=admin) as client:
        answers = {
            "planner from 9999-12-31": await client.get(f"{urls['coverage']}/planner/visits",
                                                         params={"mulai": "9999-12-31"}),
            "coverage on day 0": await client.get(f"{urls['coverage']}/coverage", params={"tanggal": "0"}),
            "cohort on 1.5e9": await client.get(f"{urls['intake']}/cohort", params={"tanggal": "1.5e9"}),
            "birth date as a number": await client.post(f"{urls['intake']}/residents", json={**resident, "birth_date": 0}),
            "SIAK file with a huge cell": await client.post(f"{urls['recording']}/siak/import",
                                                            files={"file": ("siak.csv", huge_cell.encode())}),
            "SIAK file with a row longer than its header": await client.post(
                f"{urls['recording']}/siak/import", files={"file": ("siak.csv", b"h/w\n1;2;3\n")}),
        }
        siak = await client.post(f"{urls['recording']}/siak/import", files={
            "file": ("siak.csv", b"NIK;STATUS;TANGGAL\n1702064507070001;PRR;1700000000\n")})
    refused = {what: answer.status_code for what, answer in answers.items()}
    assert refused == dict.fromkeys(answers, 422), {what: a.text[:300] for what, a in answers.items()}
    assert all(a.json()["detail"] for a in answers.values())
    assert siak.status_code == 200 and siak.json()["hasil"][0]["hasil"] == "ditolak", siak.text
    assert "bukan angka" in siak.json()["hasil"][0]["alasan"]
