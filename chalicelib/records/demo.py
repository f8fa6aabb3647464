"""Demo records of the fictional citizens: documents of several types, series of measures, past and
future appointments from several platforms. Generated (deterministically, from each citizen's
id) and checked by the same Codec as the apps' writes, so demo data is valid FHIR by construction."""
from __future__ import annotations

import base64
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from chalicelib.identity.families import demo_people
from chalicelib.records.resources import Codec
from chalicelib.records.models import RecordItem
from chalicelib.records.store import RecordStore

_LOINC, _UCUM = "http://loinc.org", "http://unitsofmeasure.org"
_DOCUMENTS = [  # (LOINC type, description, author, days ago)
    ("11502-2", "Bilan sanguin annuel : NFS, glycémie à jeun, bilan lipidique", "Laboratoire Biolab Paris 11", 12),
    ("11488-4", "Consultation de médecine générale : renouvellement d'ordonnance", "Dr Claire Moreau", 30),
    ("57833-6", "Ordonnance : traitement de fond, trois mois", "Dr Claire Moreau", 30),
    ("18748-4", "Radiographie du thorax de face : pas d'anomalie", "Centre d'imagerie Voltaire", 95),
    ("11369-6", "Historique des vaccinations : DTP, grippe saisonnière", "Pharmacie des Lilas", 140),
    ("60591-5", "Synthèse médicale du médecin traitant", "Dr Claire Moreau", 200),
    ("11490-0", "Lettre de liaison à la sortie : hospitalisation de jour", "Hôpital Saint-Antoine", 380),
    ("10213-7", "Compte rendu d'anesthésie : coloscopie sous sédation", "Hôpital Saint-Antoine", 381),
]
_PLATFORMS = [("rdv-facile", "Cabinet médical des Lilas"), ("visiosoin", "Téléconsultation VisioSoin"), (None, None)]
_SERVICES = ["Médecine générale", "Cardiologie", "Ophtalmologie", "Dermatologie", "Kinésithérapie",
             "Chirurgien-dentiste"]


def _patients(directory: Path) -> List[Dict[str, Any]]:
    return demo_people(directory)


def _quantity(value: float, unit: str) -> Dict[str, Any]:
    return {"value": value, "unit": unit, "system": _UCUM, "code": unit}


def _observation(code: str, when: datetime, value: Optional[Dict[str, Any]] = None,
                 components: Optional[List[Tuple[str, Dict[str, Any]]]] = None) -> Dict[str, Any]:
    resource: Dict[str, Any] = {"resourceType": "Observation", "status": "final",
                                "code": {"coding": [{"system": _LOINC, "code": code}]},
                                "effectiveDateTime": when.isoformat()}
    if value is not None:
        resource["valueQuantity"] = value
    if components:
        resource["component"] = [{"code": {"coding": [{"system": _LOINC, "code": c}]}, "valueQuantity": q}
                                 for c, q in components]
    return resource


def demo_resources(patient: Dict[str, Any], now: datetime) -> Iterable[Tuple[str, Optional[str], Dict[str, Any]]]:
    """(resource type, writing app or None for the DMP's own, resource) for one demo citizen."""
    rng = random.Random(patient["id"])  # noqa: S311 - repeatable demo figures, not secrets
    today = (now - timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)  # all measures in the past
    for code, description, author, days in _DOCUMENTS:
        text = f"{description}\nPatient : {patient['given']} {patient['family']}\nDocument fictif de démonstration."
        yield "DocumentReference", None, {
            "resourceType": "DocumentReference", "status": "current",
            "type": {"coding": [{"system": _LOINC, "code": code}]},
            "date": (today - timedelta(days=days + rng.randint(0, 3))).isoformat(),
            "author": [{"display": author}], "description": description,
            "securityLabel": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                                           "code": "N"}]}],
            "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "title": description[:60],
                                        "data": base64.b64encode(text.encode("utf-8")).decode("ascii")}}]}
    height = rng.randint(158, 185)
    weight = rng.uniform(58, 92)
    yield "Observation", None, _observation("8302-2", today - timedelta(days=300), _quantity(height, "cm"))
    for month in range(12):  # weight and BMI, monthly, from a connected scale
        when = today - timedelta(days=30 * month, hours=rng.randint(0, 3))
        weight += rng.uniform(-0.8, 0.7)
        yield "Observation", "balance-horizon", _observation("29463-7", when, _quantity(round(weight, 1), "kg"))
        yield "Observation", "balance-horizon", _observation(
            "39156-5", when, _quantity(round(weight / (height / 100) ** 2, 1), "kg/m2"))
    for day in range(0, 90, 3):  # blood pressure and heart rate, twice a week or so
        when = today - timedelta(days=day, hours=-rng.randint(0, 10))
        systolic, diastolic = rng.randint(112, 148), rng.randint(68, 92)
        yield "Observation", "demo-sandbox", _observation(
            "85354-9", when, components=[("8480-6", _quantity(systolic, "mm[Hg]")),
                                         ("8462-4", _quantity(diastolic, "mm[Hg]"))])
        yield "Observation", "demo-sandbox", _observation("8867-4", when, _quantity(rng.randint(56, 88), "/min"))
    for day in range(60):  # steps, daily
        yield "Observation", "demo-sandbox", _observation(
            "55423-8", today - timedelta(days=day, hours=-12), _quantity(rng.randint(2500, 14000), "{steps}"))
    for week in range(16):  # glucose, weekly
        yield "Observation", "gluco-suivi", _observation(
            "2339-0", today - timedelta(weeks=week), _quantity(round(rng.uniform(0.82, 1.35), 2), "g/L"))
    yield "Observation", None, _observation("8310-5", today - timedelta(days=40), _quantity(38.4, "Cel"))
    yield "Observation", None, _observation("72514-3", today - timedelta(days=40), _quantity(4, "{score}"))
    yield "Observation", None, _observation("8280-0", today - timedelta(days=200), _quantity(rng.randint(72, 98), "cm"))
    for index, days in enumerate((-150, -60, -9, 6, 21, 48)):  # past and future appointments
        app_id, place = _PLATFORMS[index % len(_PLATFORMS)]
        start = (today + timedelta(days=days)).replace(hour=9 + index, minute=30)
        service = _SERVICES[(index + rng.randint(0, 5)) % len(_SERVICES)]
        yield "Appointment", app_id, {
            "resourceType": "Appointment", "status": "fulfilled" if days < 0 else "booked",
            "serviceType": [{"text": service}], "description": f"Rendez-vous de {service.lower()}",
            "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat(),
            "participant": [{"actor": {"display": f"Dr {rng.choice(['Lefèvre', 'Nguyen', 'Rossi', 'Garcia'])}"},
                             "status": "accepted"},
                            {"actor": {"display": place or "Centre de santé municipal"}, "status": "accepted",
                             "type": [{"text": "Lieu · Location"}]}]}


def _secret_document(patient: Dict[str, Any], now: datetime) -> Dict[str, Any]:
    text = (f"Consultation au centre de santé\nPatient : {patient['given']} {patient['family']}\n"
            "Document fictif de démonstration, masqué aux représentants légaux à la demande du patient.")
    return {"resourceType": "DocumentReference", "status": "current",
            "type": {"coding": [{"system": _LOINC, "code": "11488-4"}]},
            "date": (now - timedelta(days=20)).isoformat(), "author": [{"display": "Centre de santé Belleville"}],
            "description": "Consultation au centre de santé (confidentielle)",
            "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "title": "Consultation",
                                        "data": base64.b64encode(text.encode("utf-8")).decode("ascii")}}]}


def seed_demo_records(codec: Codec, directory: Path, now: Optional[datetime] = None,
                      store: Optional[RecordStore] = None, only: Optional[Iterable[str]] = None) -> int:
    """Write every demo citizen's record (their Patient, documents, measures, appointments), or
    only those of the citizens `only` names; how many resources, their Patient items left out."""
    now = now or datetime.now(timezone.utc)
    patients = [p for p in _patients(directory) if only is None or p["id"] in set(only)]
    return (store or RecordStore()).save_all(_demo_items(codec, patients, now)) - len(patients)


def _demo_items(codec: Codec, patients: List[Dict[str, Any]], now: datetime) -> Iterator[RecordItem]:
    for patient in patients:
        yield RecordItem(patient["id"], "Patient#self", resource_type="Patient", last_updated=now, resource={
            "active": True, "name": [{"family": patient["family"], "given": [patient["given"]]}],
            "gender": patient["gender"], "birthDate": patient["birth_date"]})
        for number, (resource_type, app_id, resource) in enumerate(demo_resources(patient, now)):
            indexed = codec.check(resource_type, resource, "demo", now)
            yield RecordItem.of(patient["id"], resource_type, f"demo{number:04d}", indexed, app_id, now)
        if patient.get("secret_document"):  # a minor's document hidden from their representatives
            resource = _secret_document(patient, now)
            item = RecordItem.of(patient["id"], "DocumentReference", "demo-secret",
                                 codec.check("DocumentReference", resource, "demo", now), None, now)
            item.hidden_from_representatives = True
            yield item

