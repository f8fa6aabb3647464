"""Evidence files of a listing: the publisher's browser uploads each straight to S3 with a
pre-signed POST (limited in size, under a key of that app, version and criterion); the upload's
return is checked here (size, type by its first bytes, SHA-256 recorded) and attached to its
criterion; reviewers and the publisher open it through links valid one minute."""
from __future__ import annotations

import hashlib
import re
import secrets
from functools import cached_property
from typing import Any, Dict, Optional, Tuple

from chalicelib.catalog.referential import Referential
from chalicelib.clock import Clock
from chalicelib.errors import Forbidden, NotFound, PayloadTooLarge, UnsupportedMediaType
from chalicelib.identity.service import Principal
from chalicelib.referencing import lifecycle
from chalicelib.referencing.workflow import AppRecord, bump, change, commit, load_app
from chalicelib.records.documents import s3_client

MAX_BYTES = 10 * 1024 * 1024  # 10 MB: a certificate, a report, a screenshot
POST_LIFETIME = 900  # seconds the upload form is good for
LINK_LIFETIME = 60  # seconds a link to a file is good for: the browser follows it at once
PREFIX = "evidence/"
# Accepted types, known by their first bytes (never by what the browser claims).
SIGNATURES = ((b"%PDF-", "application/pdf", "pdf"), (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
              (b"\xff\xd8\xff", "image/jpeg", "jpg"))
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


def evidence_prefix(app_id: str, number: int, criterion_id: str) -> str:
    return f"{PREFIX}{app_id}/{number}/{criterion_id}/"


class EvidenceStore:
    """The documents bucket's `evidence/` prefix (S3; moto's locally)."""

    def __init__(self, bucket: str, region: str, endpoint: Optional[str]) -> None:
        self.bucket, self.region, self.endpoint = bucket, region, endpoint

    @cached_property
    def client(self) -> Any:
        return s3_client(self.region, self.endpoint)

    def upload_form(self, key: str, redirect: str) -> Dict[str, Any]:
        """The URL and hidden fields of a form that puts one file at `key` (S3 refuses a larger
        one, or another key), then sends the browser to `redirect`. Signing is local computation."""
        fields = {"success_action_redirect": redirect, "Content-Type": "application/octet-stream"}
        return self.client.generate_presigned_post(
            self.bucket, key, Fields=fields, ExpiresIn=POST_LIFETIME,
            Conditions=[{"success_action_redirect": redirect}, {"Content-Type": "application/octet-stream"},
                        ["content-length-range", 1, MAX_BYTES]])

    def inspect(self, key: str) -> Optional[Tuple[int, str, bytes]]:
        """Size, SHA-256 and first bytes of the object (read as a stream), None if it is not there.
        A file over the limit is not read."""
        from botocore.exceptions import ClientError
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        size = int(answer["ContentLength"])
        body = answer["Body"]
        if size > MAX_BYTES:
            body.close()
            return size, "", b""
        digest, head = hashlib.sha256(), b""
        for chunk in iter(lambda: body.read(256 * 1024), b""):
            head = head or chunk[:16]
            digest.update(chunk)
        return size, digest.hexdigest(), head

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def link(self, key: str, media_type: str, filename: str) -> str:
        return self.client.generate_presigned_url("get_object", ExpiresIn=LINK_LIFETIME, Params={
            "Bucket": self.bucket, "Key": key, "ResponseContentType": media_type,
            "ResponseContentDisposition": f'attachment; filename="{filename}"'})


class EvidenceService:
    def __init__(self, referential: Referential, store: EvidenceStore, clock: Clock) -> None:
        self.referential, self.store, self.clock = referential, store, clock

    def _editable(self, principal: Principal, app_id: str, number: int, criterion_id: str) -> AppRecord:
        app = load_app(app_id)
        if app.head.publisher_siret != principal.siret:
            raise Forbidden(f"App '{app_id}' belongs to another organisation.")
        if criterion_id not in self.referential.criteria:
            raise NotFound(f"No criterion '{criterion_id[:20]}'.")
        if app.version(number).state not in lifecycle.EDITABLE:
            raise Forbidden(f"Version {number} can no longer change.")
        return app

    def upload_form(self, principal: Principal, app_id: str, number: int, criterion_id: str,
                    redirect: str) -> Dict[str, Any]:
        """A form for one file of evidence for a criterion of a version the publisher may still edit."""
        self._editable(principal, app_id, number, criterion_id)
        key = evidence_prefix(app_id, number, criterion_id) + secrets.token_hex(16)
        return {**self.store.upload_form(key, redirect), "max_bytes": MAX_BYTES}

    def attach(self, principal: Principal, app_id: str, number: int, criterion_id: str, key: str) -> Dict[str, Any]:
        """The uploaded file, checked, recorded with its hash under its criterion. A file of the
        wrong size or type is deleted and refused; a key of another app, version or criterion is
        refused whoever uploaded it."""
        app = self._editable(principal, app_id, number, criterion_id)
        prefix = evidence_prefix(app_id, number, criterion_id)
        if not key.startswith(prefix) or not _UPLOAD_ID.fullmatch(key[len(prefix):]):
            raise Forbidden("This file was not uploaded for this criterion of this version.")
        version = app.version(number)
        files = dict(version.attachments or {})
        for attached in files.get(criterion_id, []):
            if attached["key"] == key:
                return attached  # the upload's return, reloaded
        found = self.store.inspect(key)
        if found is None:
            raise NotFound("The file did not arrive; upload it again.")
        size, sha256, head = found
        if size > MAX_BYTES:
            self.store.delete(key)
            raise PayloadTooLarge(f"The file is {size} bytes; at most {MAX_BYTES} are accepted.",
                                  [{"field": "file", "bytes": size, "max_bytes": MAX_BYTES}])
        kind = next(((media, extension) for magic, media, extension in SIGNATURES if head.startswith(magic)), None)
        if kind is None:
            self.store.delete(key)
            raise UnsupportedMediaType("Only PDF, PNG and JPEG files are accepted.", [{"field": "file"}])
        now = self.clock()
        attached = {"key": key, "sha256": sha256, "bytes": size, "media_type": kind[0], "extension": kind[1],
                    "uploaded_at": now.isoformat()}
        files[criterion_id] = [*files.get(criterion_id, []), attached]
        bump(version).attachments = files
        commit(app.head, now, change(principal, "evidence_attached", version=number, criterion=criterion_id,
                                     sha256=sha256, bytes=size), [version])
        return attached

    def link(self, principal: Principal, app_id: str, number: int, criterion_id: str, index: int) -> str:
        """A one-minute link to an evidence file: for the commission, or the app's own publisher."""
        app = load_app(app_id)
        if principal.role != "reviewer" and app.head.publisher_siret != principal.siret:
            raise Forbidden(f"App '{app_id}' belongs to another organisation.")
        files = (app.version(number).attachments or {}).get(criterion_id, [])
        if not 0 <= index < len(files):
            raise NotFound("No such file.")
        attached = files[index]
        name = f"{app_id}-v{number}-{criterion_id}-{index + 1}.{attached.get('extension', 'bin')}"
        return self.store.link(attached["key"], attached["media_type"], name)
