# LocalStack boot hook (copied into LocalStack's init/start.d by infra/local/localstack.sh).
#
# SQS FIFO holds back a message group while one of its messages is in flight; other groups are not held back
# (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html).
# LocalStack 4.13.1 (services/sqs/models.py, FifoQueue.requeue_inflight_messages) walks the queue's in-flight messages
# in receive order and stops at the first one still invisible, whatever its group: a message whose visibility was
# shortened (ChangeMessageVisibility to a few seconds) stays in flight until every message of any group received
# before it has come back too. r53dyn's workflow releases a failed round's deltas that way, after a jittered delay
# (docs/design.md §4.4), so one zone waiting out its visibility timeout held up every other zone's retries. This
# hook makes the stop per group: an invisible message holds back only the later messages of its own group.
from localstack.services.sqs.models import FifoQueue


def requeue_inflight_messages(self):
    if not self.inflight:
        return
    with self.mutex:
        held_groups = set()
        for message in list(self.inflight):
            group = message.message_group_id
            if group in held_groups:
                continue
            if not message.is_visible:
                held_groups.add(group)
                continue
            del self.inflight[message]
            self._put_message(message)


if not getattr(FifoQueue.requeue_inflight_messages, "_r53dyn", False):
    requeue_inflight_messages._r53dyn = True
    FifoQueue.requeue_inflight_messages = requeue_inflight_messages
