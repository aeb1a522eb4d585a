# LocalStack boot hook (copied into LocalStack's init/start.d by infra/local/localstack.sh).
#
# Fault injection: AWS errors on demand, so that the end-to-end tests can show where every message ends when Route
# 53, SSM, SQS or Step Functions fail (docs/design.md §9). A rule names a service and an operation and the error
# to answer; matching requests get that error instead of being served, in the shape the service's protocol has:
#
#   - Route 53 (REST-XML): HTTP <status> with Route 53's error document, written here as in route53-limits.py
#     (<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender|Receiver</Type>
#     <Code>…</Code><Message>…</Message></Error><RequestId>…</RequestId></ErrorResponse>);
#   - SSM, Step Functions (JSON 1.1) and SQS (JSON 1.0, query-compatible, as the AWS SDK v3 and botocore send it):
#     raised as a CommonServiceException, which LocalStack's own serializer turns into the protocol's error
#     (`__type`, `X-Amzn-Errortype`, and for SQS the `x-amzn-query-error: <code>;Sender|Receiver` header the SDKs
#     read the legacy code from).
#
# Where: a handler in LocalStack's gateway chain (serve_custom_service_request_handlers: after the request is parsed,
# before a provider serves it), like route53-limits.py. Step Functions' aws-sdk integrations (state_task_service_
# aws_sdk.py) call services through connect_to(...), a botocore client whose requests go through this same chain
# (over HTTP, or through GatewayShortCircuit with IN_MEMORY_CLIENT): one rule reaches the workflow's Tasks and the
# handlers' calls alike. `caller` tells them apart: LocalStack's own clients mark their requests as internal (the
# x-localstack-data header), and in this runtime the only ones calling these services after the deploy are the
# workflow's Tasks (EventBridge's deliveries to the events queue would count as well).
#
# Driven through LocalStack's own port (JSON in and out):
#   POST   /_r53dyn/faults        add a rule; answers it with its id:
#          {"service": "route53"|"ssm"|"sqs"|"stepfunctions",
#           "operation": "<API operation>", e.g. ChangeResourceRecordSets, GetParameter, DeleteMessageBatch,
#           "code": "<error code>", e.g. Throttling, InvalidChangeBatch, ParameterNotFound, RequestThrottled,
#           "status": <HTTP status, default 400>,
#           "message": "<error message, default the code>",
#           "count": <answer this many requests, then stop matching> | null (default: until cleared),
#           "match": {"<request field, dotted path>": "<text the field's value contains>", ...} (all must hold; an
#                    object or list field is compared as its JSON text, so {"ChangeBatch": "web.dyn."} matches a
#                    batch that names that record),
#           "caller": "any" (default) | "workflow" (LocalStack's internal clients: the workflow's Tasks)
#                     | "client" (the handlers, the local event sources, the AWS CLI)
#                     | "test" (the tests' own clients, whose user agent carries r53dyn-test),
#           "holdSeconds": <hold each matching request this long before answering, or until the rule is cleared>,
#           "observe": true: answer nothing, only count (and hold) matching requests, which are then served as usual;
#                      code is not needed}
#   GET    /_r53dyn/faults        {"rules": [rule + {"id", "hits", "left"}], "hits": [the last 500 hits, oldest first:
#                                  {"rule", "service", "operation", "caller", "at"}]}
#   DELETE /_r53dyn/faults        clears every rule and the hit log (held requests are answered at once); answers
#                                  the rules as they were
#   DELETE /_r53dyn/faults/<id>   clears one rule (its held requests are answered at once); answers it
import copy
import json
import threading
import time
import uuid

from localstack.aws import handlers
from localstack.aws.api import CommonServiceException
from localstack.http import Response
from localstack.services.edge import ROUTER

SERVICES = {"route53", "ssm", "sqs", "stepfunctions"}
CALLERS = {"any", "workflow", "client", "test"}
# the user agent the tests' own SDK clients add (test/helpers/localstack.ts), so that a fault meant for the handlers
# does not refuse the test the reads it checks them with
TEST_USER_AGENT = "r53dyn-test"
RULE_KEYS = {
    "service", "operation", "code", "status", "message", "count", "match", "caller", "holdSeconds", "observe"
}
HIT_LOG_LENGTH = 500
ROUTE53_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">'
    "<Error><Type>{type}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
    "<RequestId>{request_id}</RequestId></ErrorResponse>"
)
_MARK = "_r53dyn_faults"


class RuleError(ValueError):
    pass


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def parse_rule(body):
    """A rule from a POST body, with defaults filled in; raises RuleError when malformed."""
    if not isinstance(body, dict):
        raise RuleError("the body must be a JSON object")
    unknown = set(body) - RULE_KEYS
    if unknown:
        raise RuleError(f"unknown fields {sorted(unknown)}")
    if body.get("service") not in SERVICES:
        raise RuleError(f"service must be one of {sorted(SERVICES)}")
    observe = body.get("observe", False)
    if not isinstance(observe, bool):
        raise RuleError("observe must be true or false")
    if observe:
        body = {"code": "Observed", **body}
    for key in ("operation", "code"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise RuleError(f"{key} must be a non-empty string")
    status = body.get("status", 400)
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise RuleError("status must be an HTTP error status (400-599)")
    count = body.get("count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise RuleError("count must be a positive integer, or null for until cleared")
    match = body.get("match", {})
    if not isinstance(match, dict) or not all(isinstance(v, str) for v in match.values()):
        raise RuleError("match must be an object of field path -> text")
    caller = body.get("caller", "any")
    if caller not in CALLERS:
        raise RuleError(f"caller must be one of {sorted(CALLERS)}")
    hold = body.get("holdSeconds", 0)
    if isinstance(hold, bool) or not isinstance(hold, (int, float)) or hold < 0:
        raise RuleError("holdSeconds must be a number >= 0")
    message = body.get("message", body["code"])
    if not isinstance(message, str):
        raise RuleError("message must be a string")
    return {
        "service": body["service"],
        "operation": body["operation"],
        "code": body["code"],
        "status": status,
        "message": message,
        "count": count,
        "match": match,
        "caller": caller,
        "holdSeconds": hold,
        "observe": observe,
    }


def _field(request, path):
    value = request
    for step in path.split("."):
        if not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    return value


def _text(value):
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def matches(rule, service, operation, caller, request):
    if rule["service"] != service or rule["operation"] != operation:
        return False
    if rule["caller"] != "any" and rule["caller"] != caller:
        return False
    for path, text in rule["match"].items():
        value = _field(request or {}, path)
        if value is None or text not in _text(value):
            return False
    return True


class Faults:
    """The rules and their hits; safe to call from the gateway's threads at once."""

    def __init__(self, clock=time.time):
        self._clock = clock
        self._lock = threading.Lock()
        self._rules = []
        self._hits = []

    def add(self, body):
        rule = parse_rule(body)
        with self._lock:
            rule.update({"id": uuid.uuid4().hex[:12], "hits": 0, "cleared": threading.Event()})
            self._rules.append(rule)
            return self._public(rule)

    def take(self, service, operation, caller, request):
        """The first live rule matching the request, counted as hit; None when the request is to be served."""
        with self._lock:
            for rule in self._rules:
                left = None if rule["count"] is None else rule["count"] - rule["hits"]
                if left == 0 or not matches(rule, service, operation, caller, request):
                    continue
                rule["hits"] += 1
                self._hits.append(
                    {
                        "rule": rule["id"],
                        "service": service,
                        "operation": operation,
                        "caller": caller,
                        "at": self._clock(),
                    }
                )
                del self._hits[:-HIT_LOG_LENGTH]
                return {**rule}
            return None

    def listing(self):
        with self._lock:
            return {"rules": [self._public(r) for r in self._rules], "hits": copy.deepcopy(self._hits)}

    def clear(self, rule_id=None):
        with self._lock:
            cleared = [r for r in self._rules if rule_id is None or r["id"] == rule_id]
            self._rules = [r for r in self._rules if r not in cleared]
            if rule_id is None:
                self._hits = []
        for rule in cleared:
            rule["cleared"].set()
        return [self._public(r) for r in cleared]

    @staticmethod
    def _public(rule):
        public = {k: v for k, v in rule.items() if k != "cleared"}
        public["left"] = None if rule["count"] is None else rule["count"] - rule["hits"]
        return copy.deepcopy(public)


def _caller(context):
    # Step Functions' clients carry LocalStack's internal-request header (with an empty parameter object: the
    # service principal goes only to their AssumeRole call); the SDKs of the handlers and tests do not
    if context.is_internal_call:
        return "workflow"
    headers = context.request.headers
    agents = f"{headers.get('User-Agent', '')} {headers.get('X-Amz-User-Agent', '')}"
    return "test" if TEST_USER_AGENT in agents else "client"


def install():
    # A second run (a hook copied twice) finds the first one's handler and leaves it.
    for handler in handlers.serve_custom_service_request_handlers.handlers:
        if getattr(handler, _MARK, None) is not None:
            return getattr(handler, _MARK)
    faults = Faults()

    def inject(chain, context, response):
        if context.service is None or context.operation is None:
            return
        service = context.service.service_name
        if service not in SERVICES:
            return
        rule = faults.take(service, context.operation.name, _caller(context), context.service_request)
        if rule is None:
            return
        if rule["holdSeconds"] > 0:
            rule["cleared"].wait(rule["holdSeconds"])
        if rule["observe"]:
            return
        sender_fault = rule["status"] < 500
        if service != "route53":
            raise CommonServiceException(rule["code"], rule["message"], rule["status"], sender_fault)
        # Route 53's error document is written here: LocalStack's serializer leaves out its namespace
        context.service_exception = CommonServiceException(
            rule["code"], rule["message"], status_code=rule["status"], sender_fault=sender_fault
        )
        response.status_code = rule["status"]
        response.headers["Content-Type"] = "text/xml"
        response.headers["x-amz-request-id"] = context.request_id
        body = ROUTE53_ERROR.format(
            type="Sender" if sender_fault else "Receiver",
            code=_escape(rule["code"]),
            message=_escape(rule["message"]),
            request_id=context.request_id,
        )
        response.set_response(body.encode("utf-8"))
        chain.stop()

    def json_response(value, status=200):
        return Response(json.dumps(value), status=status, mimetype="application/json")

    def faults_endpoint(request, **_kwargs):
        if request.method == "GET":
            return json_response(faults.listing())
        if request.method == "DELETE":
            return json_response({"rules": faults.clear()})
        try:
            return json_response(faults.add(json.loads(request.get_data() or b"{}")))
        except (ValueError, RuleError) as error:
            return json_response({"error": str(error)}, status=400)

    def rule_endpoint(request, rule_id, **_kwargs):
        cleared = faults.clear(rule_id)
        if not cleared:
            return json_response({"error": f"no rule {rule_id}"}, status=404)
        return json_response(cleared[0])

    setattr(inject, _MARK, faults)
    handlers.serve_custom_service_request_handlers.append(inject)
    ROUTER.add("/_r53dyn/faults", endpoint=faults_endpoint, methods=["GET", "POST", "DELETE"])
    ROUTER.add("/_r53dyn/faults/<rule_id>", endpoint=rule_endpoint, methods=["DELETE"])
    return faults


install()
