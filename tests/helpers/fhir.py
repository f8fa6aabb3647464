"""FHIR R4 resources as apps send them, built fresh for each use (tests change them): a weight, a
heart rate, an appointment, a text or a PDF document, a transaction bundle; and the scopes that
read or write all of them."""
import base64

READ_ALL = ("launch/patient patient/DocumentReference.rs patient/Observation.rs patient/Appointment.rs "
            "patient/Patient.rs")
WRITE_ALL = READ_ALL + " patient/Observation.c patient/DocumentReference.c patient/Appointment.cud"

UCUM = "http://unitsofmeasure.org"


def weight(value=72.5, when="2026-11-20T08:00:00+01:00", unit="kg"):
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
            "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}


def heart_rate():
    return {"resourceType": "Observation", "status": "final", "effectiveDateTime": "2026-11-20T08:00:00Z",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
            "valueQuantity": {"value": 64, "unit": "/min", "system": UCUM, "code": "/min"}}


def appointment(start="2026-12-10T09:30:00+01:00", status="booked", doctor="Dr Nguyen"):
    return {"resourceType": "Appointment", "status": status, "start": start, "end": start.replace("09:30", "10:00"),
            "serviceType": [{"text": "Cardiologie"}],
            "participant": [{"actor": {"display": doctor}, "status": "accepted"}]}


def text_document():
    """A short text document ("Bonjour"), small enough to stay inline in its item."""
    return {"resourceType": "DocumentReference", "status": "current",
            "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
            "content": [{"attachment": {"contentType": "text/plain", "data": "Qm9uam91cg=="}}]}


def pdf_document(size, title="bilan.pdf"):
    """A PDF of about `size` bytes (over the inline limit, its content goes to S3); no title if None."""
    content = b"%PDF-1.4 " + b"x" * size
    attachment = {"contentType": "application/pdf", "title": title, "data": base64.b64encode(content).decode()}
    if title is None:
        del attachment["title"]
    return {"resourceType": "DocumentReference", "status": "current",
            "type": {"coding": [{"system": "http://loinc.org", "code": "11502-2"}]},
            "content": [{"attachment": attachment}]}


def transaction(*resources):
    """A transaction bundle that creates each resource, in order."""
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}
                      for resource in resources]}
