"""failure_replay: the failure queue's SQS event source → one replay per record, partial batch response.

Failed records (transient vendor errors) are reported in `batchItemFailures` and stay on the queue with
the visibility the replay logic gave them; everything else is deleted by the event source mapping.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from leadhooks.logic.replay import replay_record
from leadhooks.observability import logger, metrics
from leadhooks.pacing import slot_of

# A vendor outage fails every record of a batch: that is a retry, not a function error, so the whole
# batch is reported as failed items instead of raising (which would also trip the Errors alarm).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    # Paced deliveries in the order of their reserved slots: each then waits only for its own slot
    # instead of being sent late behind a later one (docs/pacing.md).
    event["Records"] = sorted(event.get("Records") or [], key=slot_of)
    return process_partial_response(
        event=event, record_handler=replay_record, processor=processor, context=context
    )
