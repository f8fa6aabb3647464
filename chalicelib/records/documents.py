"""The documents bucket (S3; moto's locally): document contents too large for the record, served
by short-lived pre-signed URLs, so that no app ever meets DynamoDB's 400 KB item limit; and the
citizens' export archives (chalicelib/export/), under `exports/`."""
from __future__ import annotations

from functools import cached_property
from typing import Any, Iterable, Optional

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.observability import logger

URL_LIFETIME = 300  # seconds


def s3_client(region: str, endpoint: Optional[str]) -> Any:
    """An S3 client for the documents bucket: SigV4 (what pre-signed URLs and POSTs need), path-style
    addressing (moto's server locally). Imported on first use: most calls never touch S3."""
    import boto3
    from botocore.config import Config
    return boto3.client("s3", region_name=region, endpoint_url=endpoint,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))


class DocumentStore:
    def __init__(self, bucket: str, region: str, endpoint: Optional[str]) -> None:
        self.bucket, self.region, self.endpoint = bucket, region, endpoint

    @cached_property
    def client(self) -> Any:
        return s3_client(self.region, self.endpoint)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        # Encrypted at rest by the bucket's default (KMS in AWS: infra/template.yaml).
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def put_file(self, key: str, path: str, content_type: str) -> None:
        """A file of any size (multipart above 8 MB, by boto3's transfer manager)."""
        self.client.upload_file(path, self.bucket, key, ExtraArgs={"ContentType": content_type})

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def discard(self, keys: Iterable[str]) -> None:
        """Delete contents that no record points to any more. The change of the record stands
        whatever happens here, so a failure is logged, not raised: the object stays behind,
        unreachable (URLs are signed only for keys a record holds)."""
        for key in keys:
            try:
                self.client.delete_object(Bucket=self.bucket, Key=key)
            except (BotoCoreError, ClientError):
                logger.warning("document content could not be deleted", extra={"s3_key": key}, exc_info=True)

    def url(self, key: str, lifetime: int = URL_LIFETIME, filename: Optional[str] = None) -> str:
        """A GET URL valid `lifetime` seconds; signing is local computation, not a call to S3. With
        `filename`, the browser saves the object under that name."""
        params = {"Bucket": self.bucket, "Key": key}
        if filename is not None:
            params["ResponseContentDisposition"] = f'attachment; filename="{filename}"'
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=lifetime)

    def ensure_bucket(self) -> None:
        """Local runs and tests: create the bucket (on AWS the template does)."""
        existing = {bucket["Name"] for bucket in self.client.list_buckets().get("Buckets", [])}
        if self.bucket not in existing:
            self.client.create_bucket(Bucket=self.bucket,
                                      CreateBucketConfiguration={"LocationConstraint": self.region})
