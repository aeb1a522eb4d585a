# LocalStack boot hook (copied into LocalStack's init/start.d by infra/local/localstack.sh).
#
# Route 53's API limits, so that a benchmark meets locally the throttling a fleet meets on AWS. LocalStack answers
# every Route 53 call at once; Route 53 throttles per account with token buckets
# (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/throttling-api-requests.html, and the announcement
# https://aws.amazon.com/blogs/networking-and-content-delivery/introducing-change-based-throttling-for-amazon-route-53-apis/):
#
#   - request rate, at two levels: one bucket for the whole account and one per API operation; a call takes a token
#     from both and is throttled if either is empty. Defaults since July 30, 2026: capacity (burst) 50, refill 10 per
#     second, for the account and for every operation not in the page's table of exceptions (ChangeResourceRecordSets,
#     GetChange and ListResourceRecordSets are not in it). Before that date the account rate was 5 per second: set
#     "account": {"refillPerSecond": 5} to try it. The exceptions below were read from the page's table; its last rows
#     (operations from "Update..." on) could not be read, so those operations get the default here.
#   - change throughput: "individual DNS record changes per second, aggregated across the API actions that modify
#     DNS data", one token per change. Its bucket sizes are not public, so it is off until configured
#     ("changes": {"capacity": ..., "refillPerSecond": ...}). What counts as one change: this hook counts one per
#     Change element of a ChangeResourceRecordSets request (the page's unit is an individual record change, and a
#     Change element is one action on one record set). The knowledge-center note that "UPSERT requests count twice"
#     (https://repost.aws/knowledge-center/route-53-avoid-throttling-errors) is about a request's element and
#     character quotas, not this bucket; "upsertWeight": 2 tries that reading. Other actions that write DNS data
#     (CreateHostedZone's SOA and NS records, traffic policy instances) are not counted.
#
# A throttled call is answered as Route 53 answers it: HTTP 400 with Route 53's REST error document (THROTTLED_BODY;
# https://docs.aws.amazon.com/Route53/latest/APIReference/requests-rest-responses.html), code Throttling, message
# Rate exceeded, type Sender, and the request id in the body and the x-amz-request-id header. The AWS
# SDKs and the AWS CLI classify the code Throttling as a throttling error and retry it
# (https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-retries.html). A throttled call takes no token.
# A request whose change count exceeds the change bucket's capacity can never pass and is always throttled.
#
# Where: a handler in LocalStack's gateway chain (serve_custom_service_request_handlers, after the request is parsed
# and before it is routed to a provider), for service route53. Every Route 53 call goes through it, whether
# LocalStack's Route53Provider or moto's fallback serves it, and calls that LocalStack's own services make over
# HTTP (a Step Functions aws-sdk task) as well, as they would count on AWS. It wraps no Route 53 class, so it
# coexists with route53-preconditions.py in either load order. Calls are counted whether or not limits are enabled.
#
# Observers: a request with the header `x-r53dyn-observer` (any value) is neither counted nor throttled and takes no
# token, so that a benchmark can watch the zone (is every name exact yet?) and set it up without changing what it
# measures. Nothing in r53dyn sends that header.
#
# Off by default. Driven through LocalStack's own port (JSON in and out):
#   GET  /_r53dyn/route53/limits    the settings in force
#   POST /_r53dyn/route53/limits    change settings: any subset of
#        {"enabled": bool,
#         "account":   {"capacity": n, "refillPerSecond": n},
#         "operation": {"capacity": n, "refillPerSecond": n},          the default for every operation
#         "operations": {"<Operation>": {"capacity": n, "refillPerSecond": n} | null},   null: back to the default
#         "changes": {"capacity": n, "refillPerSecond": n, "upsertWeight": n} | null}    null: not enforced
#        merged into the settings in force; every bucket starts again full. Answers the settings in force.
#   GET  /_r53dyn/route53/counters  {"enabled", "calls": {op: n}, "throttled": {op: n}, "totalCalls",
#                                    "totalThrottled", "throttledBy": {"account", "operation", "changes"},
#                                    "recordChanges"}  (recordChanges: changes of ChangeResourceRecordSets calls that
#                                    succeeded, counted with upsertWeight; throttledBy: the first empty bucket of a
#                                    throttled call, in that order)
#   POST /_r53dyn/route53/reset     back to the state at start: disabled, default settings, counters zero, buckets full
import copy
import json
import threading
import time

from localstack.aws import handlers
from localstack.aws.api import CommonServiceException
from localstack.http import Response
from localstack.services.edge import ROUTER

DEFAULT_SETTINGS = {
    "enabled": False,
    "account": {"capacity": 50, "refillPerSecond": 10},
    "operation": {"capacity": 50, "refillPerSecond": 10},
    "operations": {
        "AssociateVPCWithHostedZone": {"capacity": 20, "refillPerSecond": 5},
        "ChangeCidrCollection": {"capacity": 40, "refillPerSecond": 5},
        "CreateCidrCollection": {"capacity": 40, "refillPerSecond": 5},
        "CreateHealthCheck": {"capacity": 50, "refillPerSecond": 0.5},
        "CreateHostedZone": {"capacity": 40, "refillPerSecond": 2},
        "CreateReusableDelegationSet": {"capacity": 40, "refillPerSecond": 2},
        "CreateTrafficPolicyInstance": {"capacity": 1, "refillPerSecond": 1},
        "DeleteCidrCollection": {"capacity": 40, "refillPerSecond": 5},
        "DeleteHealthCheck": {"capacity": 15, "refillPerSecond": 3},
        "DeleteHostedZone": {"capacity": 40, "refillPerSecond": 5},
        "DeleteReusableDelegationSet": {"capacity": 40, "refillPerSecond": 5},
        "DeleteTrafficPolicyInstance": {"capacity": 1, "refillPerSecond": 1},
        "DisassociateVPCFromHostedZone": {"capacity": 10, "refillPerSecond": 5},
        "GetHealthCheckLastFailureReason": {"capacity": 4, "refillPerSecond": 1},
        "GetHealthCheckStatus": {"capacity": 4, "refillPerSecond": 1},
    },
    "changes": None,
}
THROTTLED_BODY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
    "<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    "<RequestId>{request_id}</RequestId></ErrorResponse>"
)
_BUCKET_KEYS = {"capacity", "refillPerSecond"}
_CHANGE_KEYS = _BUCKET_KEYS | {"upsertWeight"}
_MARK = "_r53dyn_route53_limits"
OBSERVER_HEADER = "x-r53dyn-observer"


class SettingsError(ValueError):
    pass


class TokenBucket:
    """Holds up to `capacity` tokens and gains `refill` per second, continuously; starts full."""

    def __init__(self, capacity, refill, now):
        self.capacity = float(capacity)
        self.refill = float(refill)
        self.tokens = self.capacity
        self.at = now

    def has(self, tokens, now):
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.refill)
        self.at = now
        return self.tokens >= tokens

    def take(self, tokens):
        self.tokens -= tokens


def _bucket_settings(value, keys, where):
    if not isinstance(value, dict) or not set(value) <= keys:
        raise SettingsError(f"{where} must be an object with {sorted(keys)}")
    for key, number in value.items():
        if isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
            raise SettingsError(f"{where}.{key} must be a number >= 0")
    return value


def merge_settings(current, update):
    """The settings `update` (a partial settings object) makes of `current`; raises SettingsError if malformed."""
    if not isinstance(update, dict):
        raise SettingsError("the body must be a JSON object")
    unknown = set(update) - set(DEFAULT_SETTINGS)
    if unknown:
        raise SettingsError(f"unknown settings {sorted(unknown)}")
    merged = copy.deepcopy(current)
    if "enabled" in update:
        if not isinstance(update["enabled"], bool):
            raise SettingsError("enabled must be true or false")
        merged["enabled"] = update["enabled"]
    for level in ("account", "operation"):
        if level in update:
            merged[level].update(_bucket_settings(update[level], _BUCKET_KEYS, level))
    if "operations" in update:
        if not isinstance(update["operations"], dict):
            raise SettingsError("operations must be an object of operation name -> bucket or null")
        for name, bucket in update["operations"].items():
            if bucket is None:
                merged["operations"].pop(name, None)
            else:
                base = merged["operations"].get(name, merged["operation"])
                merged["operations"][name] = {**base, **_bucket_settings(bucket, _BUCKET_KEYS, name)}
    if "changes" in update:
        changes = update["changes"]
        if changes is None:
            merged["changes"] = None
        else:
            base = merged["changes"] or {"upsertWeight": 1}
            merged["changes"] = {**base, **_bucket_settings(changes, _CHANGE_KEYS, "changes")}
            if not _BUCKET_KEYS <= set(merged["changes"]):
                raise SettingsError("changes needs capacity and refillPerSecond")
    return merged


class Route53Limits:
    """The buckets and counters; every method is safe to call from the gateway's threads at once."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self._settings = copy.deepcopy(DEFAULT_SETTINGS)
            self._new_buckets()
            self._calls = {}
            self._throttled = {}
            self._throttled_by = {"account": 0, "operation": 0, "changes": 0}
            self._record_changes = 0

    def settings(self):
        with self._lock:
            return copy.deepcopy(self._settings)

    def configure(self, update):
        with self._lock:
            self._settings = merge_settings(self._settings, update)
            self._new_buckets()
            return copy.deepcopy(self._settings)

    def _new_buckets(self):
        now = self._clock()
        account = self._settings["account"]
        self._account = TokenBucket(account["capacity"], account["refillPerSecond"], now)
        self._operations = {}
        changes = self._settings["changes"]
        self._changes = changes and TokenBucket(changes["capacity"], changes["refillPerSecond"], now)

    def _operation_bucket(self, operation, now):
        bucket = self._operations.get(operation)
        if bucket is None:
            settings = self._settings["operations"].get(operation, self._settings["operation"])
            bucket = TokenBucket(settings["capacity"], settings["refillPerSecond"], now)
            self._operations[operation] = bucket
        return bucket

    def change_count(self, changes):
        """Tokens a ChangeBatch's Change elements take: one each, UPSERT upsertWeight."""
        weight = (self._settings["changes"] or {}).get("upsertWeight", 1)
        return sum(weight if change.get("Action") == "UPSERT" else 1 for change in changes)

    def admit(self, operation, changes=()):
        """Counts the call; True if it may proceed (and takes its tokens), False if it is throttled."""
        with self._lock:
            self._calls[operation] = self._calls.get(operation, 0) + 1
            if not self._settings["enabled"]:
                return True
            now = self._clock()
            tokens = self.change_count(changes)
            empty = None
            if not self._account.has(1, now):
                empty = "account"
            elif not self._operation_bucket(operation, now).has(1, now):
                empty = "operation"
            elif self._changes is not None and tokens > 0 and not self._changes.has(tokens, now):
                empty = "changes"
            if empty is not None:
                self._throttled[operation] = self._throttled.get(operation, 0) + 1
                self._throttled_by[empty] += 1
                return False
            self._account.take(1)
            self._operations[operation].take(1)
            if self._changes is not None:
                self._changes.take(tokens)
            return True

    def applied(self, changes):
        with self._lock:
            self._record_changes += self.change_count(changes)

    def counters(self):
        with self._lock:
            return {
                "enabled": self._settings["enabled"],
                "calls": dict(sorted(self._calls.items())),
                "throttled": dict(sorted(self._throttled.items())),
                "totalCalls": sum(self._calls.values()),
                "totalThrottled": sum(self._throttled.values()),
                "throttledBy": dict(self._throttled_by),
                "recordChanges": self._record_changes,
            }


def _changes_of(context):
    request = context.service_request or {}
    batch = request.get("ChangeBatch") or {}
    changes = batch.get("Changes") or []
    return changes if isinstance(changes, list) else []


def _is_route53(context):
    if context.request is not None and context.request.headers.get(OBSERVER_HEADER):
        return False
    return context.service is not None and context.service.service_name == "route53" and context.operation


def install():
    # A second run (a hook copied twice) finds the first one's handlers and leaves them.
    for handler in handlers.serve_custom_service_request_handlers.handlers:
        if getattr(handler, _MARK, None) is not None:
            return getattr(handler, _MARK)
    limits = Route53Limits()

    def throttle(chain, context, response):
        if not _is_route53(context):
            return
        operation = context.operation.name
        changes = _changes_of(context) if operation == "ChangeResourceRecordSets" else ()
        if not limits.admit(operation, changes):
            # written here rather than raised, because LocalStack's serializer leaves out Route 53's namespace
            context.service_exception = CommonServiceException(
                "Throttling", "Rate exceeded", status_code=400, sender_fault=True
            )
            response.status_code = 400
            response.headers["Content-Type"] = "text/xml"
            response.headers["x-amz-request-id"] = context.request_id
            response.set_response(THROTTLED_BODY.format(request_id=context.request_id).encode("utf-8"))
            chain.stop()

    def count_applied(chain, context, response):
        if _is_route53(context) and context.operation.name == "ChangeResourceRecordSets" and response.status_code == 200:
            limits.applied(_changes_of(context))

    def json_response(value, status=200):
        return Response(json.dumps(value), status=status, mimetype="application/json")

    def limits_endpoint(request, **_kwargs):
        if request.method == "GET":
            return json_response(limits.settings())
        try:
            update = json.loads(request.get_data() or b"{}")
            return json_response(limits.configure(update))
        except (ValueError, SettingsError) as error:
            return json_response({"error": str(error)}, status=400)

    def counters_endpoint(request, **_kwargs):
        return json_response(limits.counters())

    def reset_endpoint(request, **_kwargs):
        limits.reset()
        return json_response(limits.counters())

    setattr(throttle, _MARK, limits)
    handlers.serve_custom_service_request_handlers.append(throttle)
    handlers.run_custom_response_handlers.append(count_applied)
    ROUTER.add("/_r53dyn/route53/limits", endpoint=limits_endpoint, methods=["GET", "POST"])
    ROUTER.add("/_r53dyn/route53/counters", endpoint=counters_endpoint, methods=["GET"])
    ROUTER.add("/_r53dyn/route53/reset", endpoint=reset_endpoint, methods=["POST"])
    return limits


install()
