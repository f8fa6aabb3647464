"""Citizens' alerts by e-mail through SES (production; ALERTS_FROM_ADDRESS, a verified identity):
plain text, French first, English beside. Without it (local runs, tests), alerts go to the
citizen's alerts list and a log line only (notify/alerts.py)."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional


class SesMailer:
    """Alerts by e-mail through SES (production): plain text, French first, English beside."""

    SUBJECTS = {"each": "Mon espace santé : une application a accédé à votre dossier / An app accessed your record",
                "digest": "Mon espace santé : les accès à votre dossier aujourd'hui / Today's accesses to your record"}

    def __init__(self, sender: str, region: str, client_factory: Optional[Callable[[], Any]] = None) -> None:
        self.sender, self.region = sender, region
        self._factory = client_factory
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            if self._factory is not None:
                self._client = self._factory()
            else:
                import boto3
                self._client = boto3.client("ses", region_name=self.region)
        return self._client

    def send(self, to: str, lines: List[Dict[str, str]], mode: str, language: str) -> str:
        french = "\n".join(line["fr"] for line in lines)
        english = "\n".join(line["en"] for line in lines)
        text = f"{french}\n\nGérer vos alertes : Mon espace santé, mes autorisations.\n\n---\n\n{english}\n\n" \
               "Manage your alerts: Mon espace santé, my consents.\n"
        answer = self.client().send_email(Source=self.sender, Destination={"ToAddresses": [to]}, Message={
            "Subject": {"Data": self.SUBJECTS[mode], "Charset": "UTF-8"},
            "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}})
        return str(answer.get("MessageId", ""))


def mailer_for(sender: Optional[str], region: str) -> Optional[SesMailer]:
    return SesMailer(sender, region) if sender else None
