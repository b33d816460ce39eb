"""Build at init what the first request would build, so a SnapStart snapshot already holds it.

With SnapStart on (`EnableSnapStart=true` sets LEADHOOKS_PRIME_AT_INIT), Lambda runs the init phase
once per published version and restores every new instance from its snapshot: whatever init built is
free for every cold start after that. Only clients and parsed metadata are built here: no network
call and no secret read, since every restored copy would share an open connection or a credential
taken at snapshot time.
"""

from __future__ import annotations

from collections.abc import Callable

from leadhooks.observability import logger


def prime(*builders: Callable[[], object]) -> None:
    from leadhooks import deliveries, queues, secrets
    from leadhooks.catalog import WRITES
    from leadhooks.settings import get_settings
    from leadhooks.vendors.vitec.models import ContactsQuery

    if not get_settings().secrets_via_extension:
        secrets.provider()  # boto3 session + Secrets Manager client
    # The very clients the product then uses: the delivery records' DynamoDB, the queues' SQS.
    deliveries.prime()
    queues.sqs()
    import phonenumbers

    for region, number in (("SE", "070-123 45 67"), ("BE", "0470 12 34 56")):
        phonenumbers.parse(number, region)  # loads the region's metadata
    for entry in WRITES:
        entry.operation().model.model_rebuild(force=True)
    ContactsQuery.model_rebuild(force=True)
    for build in builders:
        build()
    logger.debug("primed at init")
