"""The archive's files, written as a stream into a zip on disk: a record of any size never sits
whole in memory (a resource at a time, and the zip's own buffers)."""
from __future__ import annotations

import json
import zipfile
from typing import Any, Dict, Iterable, Iterator

BUNDLE = "dossier-medical.fhir.json"
CONSENTS = "consentements.json"
HISTORY = "historique-des-acces.json"
README_FR, README_EN = "LISEZMOI.txt", "README.txt"

_LISEZMOI = """Mon espace santé : la copie de vos données
Archive faite le {made} (heure de Paris).

Ce dossier contient :

- {bundle}
  Votre dossier médical : vos documents (avec leur contenu), vos mesures, vos rendez-vous et
  votre identité, soit {resources} éléments. C'est un « Bundle » FHIR R4 de type « collection »,
  le format d'échange des données de santé : un autre service de santé ou une application peut
  le lire tel quel. Les documents que vous avez masqués aux applications y figurent : c'est
  votre copie.

- {consents}
  Vos consentements, en cours et passés, donnés aux applications référencées, chacun avec son
  reçu : ce que l'application peut lire ou écrire, pourquoi, et jusqu'à quand. Aussi les proches
  que vous avez choisis pour agir pour vous, et ceux pour qui vous agissez.

- {history}
  L'historique complet des accès à votre dossier : quelle application a fait quoi, et quand,
  accès accordés comme refusés.

Ces fichiers sont au format JSON (texte). Gardez-les en lieu sûr : ils contiennent vos données
de santé. Ce droit d'obtenir vos données vous est donné par le règlement européen sur l'espace
européen des données de santé (règlement (UE) 2025/327, article 7).
"""

_README = """Mon espace santé: your own copy of your data
Archive made on {made} (Paris time).

This folder holds:

- {bundle}
  Your health record: your documents (with their contents), your measures, your appointments and
  who you are, {resources} items in all. It is a FHIR R4 Bundle of type "collection", the exchange
  format of health data: another health service or app can read it as it is. Documents you hid
  from apps are included: this is your own copy.

- {consents}
  Your consents, current and past, given to referenced apps, each with its receipt: what the app
  may read or write, why, and until when. Also the relatives you chose to act for you, and those
  you act for.

- {history}
  The whole history of accesses to your record: which app did what, and when, allowed or refused.

These files are JSON (text). Keep them safe: they hold your health data. The European Health
Data Space regulation (Regulation (EU) 2025/327, article 7) gives you this right to your data.
"""


def readmes(made: str, resources: int) -> Dict[str, str]:
    names = {"bundle": BUNDLE, "consents": CONSENTS, "history": HISTORY}
    return {README_FR: _LISEZMOI.format(made=made, resources=resources, **names),
            README_EN: _README.format(made=made, resources=resources, **names)}


class Archive:
    """A zip being written at `path`: JSON documents whose one long list is streamed."""

    def __init__(self, path: str) -> None:
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.zip.close()

    def json(self, name: str, head: Dict[str, Any], key: str, items: Iterable[Any]) -> int:
        """`{**head, key: [items...]}` as JSON, one item at a time; how many items."""
        count = 0
        with self.zip.open(name, "w", force_zip64=True) as out:
            opening = json.dumps({**head, key: []}, ensure_ascii=False, indent=None)
            out.write(opening[:-2].encode())  # without the closing `]}`
            for item in items:
                out.write((",\n" if count else "\n").encode() + json.dumps(item, ensure_ascii=False).encode())
                count += 1
            out.write(b"\n]}")
        return count

    def text(self, name: str, text: str) -> None:
        self.zip.writestr(name, text.encode("utf-8"))


def counted(items: Iterable[Any], every: int, report) -> Iterator[Any]:
    """`items`, calling `report(n)` after every `every` of them."""
    count = 0
    for item in items:
        yield item
        count += 1
        if count % every == 0:
            report(count)
