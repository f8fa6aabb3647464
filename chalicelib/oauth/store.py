"""The authorization server's grants in the grants table: every read and conditional write of its
codes, refresh tokens and token families, and nothing else (the signing key ring is keyring.py's).
A code or refresh token is used once: the transaction that spends it says when it lost that race
(GrantAlreadyUsed), and the server decides what that means for the client and the consent."""
from __future__ import annotations

from datetime import datetime
from typing import Optional, Union

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.dynamodb import transaction_connection
from chalicelib.grants import grant_key
from chalicelib.oauth.models import AuthorizationCodeItem, RefreshFamily, RefreshTokenItem, family_item_key


class GrantAlreadyUsed(Exception):
    """The code or refresh token was used meanwhile (the transaction was cancelled): nothing was written."""


class GrantStore:
    def save_code(self, code: AuthorizationCodeItem) -> None:
        """A new authorization code, never over an existing one."""
        code.save(condition=AuthorizationCodeItem.grant_key.does_not_exist())

    def code(self, code: str) -> Optional[AuthorizationCodeItem]:
        """The authorization code `code` (hashed in its key), used or not."""
        try:
            return AuthorizationCodeItem.get(grant_key("code", code))
        except DoesNotExist:
            return None

    def refresh_token(self, token: str) -> Optional[RefreshTokenItem]:
        """The refresh token `token` (hashed in its key), rotated or not."""
        try:
            return RefreshTokenItem.get(grant_key("refresh", token))
        except DoesNotExist:
            return None

    def family(self, family_id: str) -> Optional[RefreshFamily]:
        try:
            return RefreshFamily.get(family_item_key(family_id))
        except DoesNotExist:
            return None

    def redeem(self, spent: Union[AuthorizationCodeItem, RefreshTokenItem, None], at: datetime,
               issued: Optional[RefreshTokenItem] = None, family: Optional[RefreshFamily] = None) -> None:
        """In one transaction: the code marked used, or the refresh token rotated (`at`), if it was
        not already; and the new refresh token stored, with its family when it starts one. So a
        throttled or failed write leaves nothing half done (re-raised: a 503 at the edge), and a
        second use of the same code or token, even concurrent, is cancelled: GrantAlreadyUsed."""
        try:
            with TransactWrite(connection=transaction_connection()) as transaction:
                if isinstance(spent, RefreshTokenItem):
                    transaction.update(spent, actions=[RefreshTokenItem.rotated_at.set(at)],
                                       condition=RefreshTokenItem.rotated_at.does_not_exist())
                elif spent is not None:
                    transaction.update(spent, actions=[AuthorizationCodeItem.used.set(True)],
                                       condition=AuthorizationCodeItem.used == False)  # noqa: E712
                if family is not None:
                    transaction.save(family)
                if issued is not None:
                    transaction.save(issued)
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise  # throttled or failed: a 503 at the edge, and nothing was written
            raise GrantAlreadyUsed() from None

    def revoke_family(self, family_id: str, at: datetime) -> None:
        """The family marked revoked (`at`), if it exists: a token issued without a refresh token
        has none, and there is nothing to mark."""
        try:
            RefreshFamily(family_item_key(family_id)).update(actions=[RefreshFamily.revoked_at.set(at)],
                                                             condition=RefreshFamily.grant_key.exists())
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise  # throttled or failed: a 503, and the revocation may be asked again
