# LocalStack boot hook (copied into LocalStack's init/start.d by infra/local/localstack.sh).
#
# Counts every AWS API call that LocalStack serves, by service and operation, so that a benchmark can price what a
# run did (SQS requests, Step Functions and SSM calls) from what actually reached the services: the handlers' own
# calls, the local event sources' receives and deletes, and the calls a Step Functions execution makes through its
# aws-sdk tasks (they reach LocalStack's gateway too). Route 53 calls are counted here as well as in
# route53-limits.py.
#
# SQS bills requests, not calls: "each 64 KB chunk of a payload is billed as 1 request" (https://aws.amazon.com/sqs/
# pricing/, see test/bench/prices.json sqsBillingChunkBytes). For every SQS call this hook adds
# max(1, ceil(payload / 65536)) billed requests to the queue's kind (standard or fifo, from the queue URL's ".fifo"),
# the payload being the message bodies and message attributes sent (SendMessage, SendMessageBatch) or received
# (ReceiveMessage). A ReceiveMessage that returns no message is counted apart (`emptyReceives`): Lambda's pollers
# make those whether or not a fleet exists, so they are a fixed cost, not a per-machine one.
#
# A request with the header `x-r53dyn-observer` is not counted: the benchmark's own reads (is every name exact yet?
# is the queue empty?) are not calls of the system it measures. route53-limits.py lets such requests through
# without counting or throttling them.
#
#   GET  /_r53dyn/calls          {"calls": {service: {operation: n}}, "sqs": {"billed": {"standard": n, "fifo": n},
#                                 "emptyReceives": {"standard": n, "fifo": n}}}
#   POST /_r53dyn/calls/reset    every counter back to zero; answers the counters (zero)
import json
import math
import threading

from localstack.aws import handlers
from localstack.http import Response
from localstack.services.edge import ROUTER

OBSERVER_HEADER = "x-r53dyn-observer"
SQS_CHUNK_BYTES = 65536
_MARK = "_r53dyn_call_counter"


def _attributes_bytes(attributes):
    size = 0
    for name, value in (attributes or {}).items():
        size += len(name) + len(value.get("DataType", "") or "")
        size += len((value.get("StringValue") or "").encode("utf-8"))
        size += len(value.get("BinaryValue") or b"")
    return size


def _message_bytes(message):
    return len((message.get("MessageBody") or message.get("Body") or "").encode("utf-8")) + _attributes_bytes(
        message.get("MessageAttributes")
    )


def sqs_payload(operation, request, response):
    """The payload SQS bills a call for: bodies and attributes sent or received; None for a receive of nothing."""
    if operation == "SendMessage":
        return _message_bytes(request)
    if operation == "SendMessageBatch":
        return sum(_message_bytes(entry) for entry in request.get("Entries") or [])
    if operation == "ReceiveMessage":
        messages = (response or {}).get("Messages") or []
        return sum(_message_bytes(m) for m in messages) if messages else None
    return 0


def billed_requests(payload):
    return max(1, math.ceil(payload / SQS_CHUNK_BYTES))


class CallCounter:
    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self._calls = {}
            self._billed = {"standard": 0, "fifo": 0}
            self._empty = {"standard": 0, "fifo": 0}

    def count(self, service, operation, request, response):
        with self._lock:
            per_service = self._calls.setdefault(service, {})
            per_service[operation] = per_service.get(operation, 0) + 1
            if service != "sqs":
                return
            kind = "fifo" if str((request or {}).get("QueueUrl", "")).endswith(".fifo") else "standard"
            payload = sqs_payload(operation, request or {}, response)
            if payload is None:
                self._empty[kind] += 1
            else:
                self._billed[kind] += billed_requests(payload)

    def counters(self):
        with self._lock:
            return {
                "calls": {s: dict(sorted(ops.items())) for s, ops in sorted(self._calls.items())},
                "sqs": {"billed": dict(self._billed), "emptyReceives": dict(self._empty)},
            }


def install():
    for handler in handlers.run_custom_response_handlers.handlers:
        if getattr(handler, _MARK, None) is not None:
            return getattr(handler, _MARK)
    counter = CallCounter()

    def count_call(chain, context, response):
        if context.service is None or context.operation is None:
            return
        if context.request is not None and context.request.headers.get(OBSERVER_HEADER):
            return
        counter.count(
            context.service.service_name,
            context.operation.name,
            context.service_request,
            context.service_response if isinstance(context.service_response, dict) else None,
        )

    def json_response(value):
        return Response(json.dumps(value), status=200, mimetype="application/json")

    def counters_endpoint(request, **_kwargs):
        return json_response(counter.counters())

    def reset_endpoint(request, **_kwargs):
        counter.reset()
        return json_response(counter.counters())

    setattr(count_call, _MARK, counter)
    handlers.run_custom_response_handlers.append(count_call)
    ROUTER.add("/_r53dyn/calls", endpoint=counters_endpoint, methods=["GET"])
    ROUTER.add("/_r53dyn/calls/reset", endpoint=reset_endpoint, methods=["POST"])
    return counter


install()
