"""The access history in words: each kind of entry makes a plain sentence, in French and English."""
import pytest

from chalicelib.pages.history import by_day, described, sentence


def entry(interaction, resource_type="Observation", count=1, outcome="allowed", reason=None,
          at="2026-11-28T18:40:12.123456+00:00"):
    return {"at": at, "app_id": "demo-sandbox", "app_name": "Bac à sable développeurs", "interaction": interaction,
            "resource_type": resource_type, "resource_id": None, "count": count, "outcome": outcome, "reason": reason}


@pytest.mark.parametrize("interaction, resource_type, count, fr, en", [
    ("search", "Observation", 20, "a consulté 20 mesures de santé.", "read 20 health measures."),
    ("search", "Appointment", 1, "a consulté un rendez-vous.", "read an appointment."),
    ("search", "DocumentReference", 0, "a cherché des documents, sans en trouver.",
     "looked for documents and found none."),
    ("read", "Patient", 1, "a consulté votre fiche d'identité.", "read your identity record."),
    ("read", "Observation", 0, "a demandé une mesure de santé, introuvable.",
     "asked for a health measure, which was not found."),
    ("create", "DocumentReference", 1, "a ajouté un document.", "added a document."),
    ("update", "Appointment", 1, "a modifié un rendez-vous.", "changed an appointment."),
    ("update", "Appointment", 0, "a voulu modifier un rendez-vous, introuvable.",
     "tried to change an appointment, which was not found."),
    ("delete", "Appointment", 1, "a supprimé un rendez-vous.", "deleted an appointment."),
    ("transaction", "Appointment,Observation", 3, "a ajouté 3 éléments en une fois (rendez-vous, mesures de santé).",
     "added 3 items at once (appointments, health measures)."),
    ("everything", "Patient", 20, "a consulté 20 éléments de votre dossier en une fois.",
     "read 20 items of your record at once."),
    ("everything", "Patient", 1, "a consulté un élément de votre dossier.", "read one item of your record."),
    ("everything", "Patient", 0, "a demandé tout ce qu'elle peut voir de votre dossier, sans rien trouver.",
     "asked for everything it may see in your record and found nothing."),
    ("history", "Encounter", 2, "a accédé à votre dossier (history Encounter).",
     "accessed your record (history Encounter)."),
])
def test_allowed_accesses_in_words(interaction, resource_type, count, fr, en):
    item = entry(interaction, resource_type, count)
    assert sentence(item, "fr") == f"Bac à sable développeurs {fr}"
    assert sentence(item, "en") == f"Bac à sable développeurs {en}"


@pytest.mark.parametrize("reason, fr", [
    ("consent", "votre accord avait été retiré"), ("app", "l'application n'était plus référencée"),
    ("scope", "vous n'aviez pas autorisé l'application"),
    ("not-written-by-app", "ce qu'elle a elle-même écrit"), ("stale-version", "modifiée entre-temps"),
    (None, "l'accès n'était pas permis"), ("new-reason", "n'était pas permis"),
])
def test_refused_accesses_say_so_and_why(reason, fr):
    shown = described(entry("update", "Observation", 0, outcome="refused", reason=reason))
    assert shown["refused"]
    assert shown["sentence"]["fr"].endswith("a voulu modifier une mesure de santé : accès refusé.")
    assert shown["sentence"]["en"].endswith("tried to change a health measure: access refused.")
    assert fr in shown["reason_words"]["fr"] and shown["reason_words"]["en"]


def test_a_refused_everything_says_what_was_asked():
    shown = described(entry("everything", "Patient", 0, outcome="refused", reason="scope"))
    assert shown["sentence"]["fr"] == ("Bac à sable développeurs a voulu consulter tout ce qu'elle peut voir de votre "
                                       "dossier : accès refusé.")
    assert shown["sentence"]["en"] == ("Bac à sable développeurs tried to read everything it may see in your record: "
                                       "access refused.")


def test_times_are_valid_html_and_local_days_group_entries():
    late = described(entry("search", at="2026-11-28T23:30:00.000001+00:00"))  # 00:30 in Paris, next day
    early = described(entry("search", at="2026-11-28T22:10:00+00:00"))
    assert late["datetime"] == "2026-11-28T23:30:00Z", "HTML allows at most 3 digits of a second"
    assert (late["day"], late["time"]) == ("2026-11-29", "00:30")
    assert (early["day"], early["time"]) == ("2026-11-28", "23:10")
    days = by_day([late, early, early])
    assert [(d["day"], len(d["entries"])) for d in days] == [("2026-11-29", 1), ("2026-11-28", 2)]
