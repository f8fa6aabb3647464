"""Whatever an app sends, the Codec either refuses it with a 422 naming elements, or stores a
resource that reads back as valid FHIR R4: never another exception, never invalid R4 shown."""
import copy
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from chalicelib.config import settings
from chalicelib.records.resources import Codec, InvalidResource
from chalicelib.terminology import load_terminology
from tests.helpers.fhir import heart_rate, text_document
from tests.helpers.smart import assert_r4

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
CODEC = Codec(load_terminology(settings.catalog_dir), "https://testserver/fhir")
VALID = {
    "Observation": heart_rate(),
    "DocumentReference": dict(text_document(), author=[{"display": "Dr Moreau"}]),
    "Appointment": {"resourceType": "Appointment", "status": "booked", "start": "2026-12-10T09:30:00+01:00",
                    "participant": [{"actor": {"display": "Dr Nguyen"}, "status": "accepted"}]},
}
JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False)
                    | st.text(max_size=20),
                    lambda children: st.lists(children, max_size=3)
                    | st.dictionaries(st.sampled_from(["coding", "text", "system", "code", "display", "value",
                                                       "reference", "status", "x"]), children, max_size=3),
                    max_leaves=8)
ELEMENTS = ["status", "code", "category", "effectiveDateTime", "valueQuantity", "component", "note", "device",
            "identifier", "issued", "type", "date", "author", "description", "securityLabel", "content",
            "docStatus", "start", "end", "serviceType", "participant", "minutesDuration", "subject", "colour"]


@hypothesis_settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(VALID)), st.dictionaries(st.sampled_from(ELEMENTS), JSON, min_size=1, max_size=2))
def test_any_body_is_stored_as_valid_r4_or_refused_with_a_422(resource_type, changes):
    body = copy.deepcopy(VALID[resource_type])
    body.update(changes)
    try:
        indexed = CODEC.check(resource_type, body, "pairwise", NOW)
    except InvalidResource as error:
        assert error.details and all(d["pointer"].startswith(resource_type) for d in error.details)
        return
    assert_r4(CODEC.show(resource_type, "r1", indexed.resource, "pairwise", 1, NOW, None))
