# LocalStack boot hook (copied into LocalStack's init/start.d by infra/local/localstack.sh).
#
# 1. Write preconditions. Route 53 rejects a whole ChangeBatch with InvalidChangeBatch when a CREATE names an
#    rrset that already exists or a DELETE does not match the current rrset exactly. r53dyn's compare-and-swap
#    relies on that; LocalStack's Route 53 does not check it (a second CREATE adds a duplicate rrset, a stale
#    DELETE removes the new one). This hook adds those two preconditions, checked for the whole batch before
#    anything is applied, so that write conflicts behave locally as they do on AWS.
#
# 2. Change propagation. On AWS a change is PENDING for up to about a minute before GetChange says INSYNC, and
#    every ChangeResourceRecordSets gets its own change id. LocalStack answers GetChange INSYNC at once, for any
#    id, and moto gives every change the same id (/change/C2682N5HXP0BZ4), so the workflow's PENDING path (wait,
#    poll, double the wait) never runs against LocalStack's Route 53, and SFN_MOCK_CONFIG cannot mock it either
#    (it picks a mocked response by the state's retry count, which starts again at 0 on every loop entry, so a
#    mocked GetChange answers the same on every poll). This hook therefore
#      - gives each ChangeResourceRecordSets response a unique change id, C + 13 upper-case letters and digits,
#        remembered with the hosted zone's name (wrapping moto's Route53 responses handler, whose method returns
#        the response XML as a string, which LocalStack parses and serializes back to the client);
#      - makes GetChange on such an id answer PENDING for the first N polls when the zone's name starts with a
#        label pending<N> (zone pending2.slow.example.test: PENDING, PENDING, then INSYNC); any other zone, and
#        any id this hook did not hand out, is INSYNC at once, as before (wrapping Route53Provider.get_change).
#    The change response itself says PENDING in such a zone, as AWS does; elsewhere it stays INSYNC.
#    A test then runs the real workflow, unmocked, through its PENDING path end to end.
import re
import secrets
import string
import threading

from moto.route53.exceptions import Route53ClientError
from moto.route53.models import Route53Backend
from moto.route53.responses import Route53

from localstack.services.route53.provider import Route53Provider


class PreconditionFailed(Route53ClientError):
    code = 400

    def __init__(self, message):
        super().__init__("InvalidChangeBatch", message)


def _values(rrset):
    records = rrset.get("ResourceRecords") or {}
    if isinstance(records, dict):  # as parsed from the XML request
        records = next(iter(records.values()), [])
    if not isinstance(records, list):
        records = [records]
    return sorted(r["Value"] if isinstance(r, dict) else str(r) for r in records)


def _key(name, type_, set_identifier):
    return (name.rstrip(".").lower(), type_, set_identifier)


def _check(zone, change_list):
    current = {
        _key(r.name, r.type_, r.set_identifier): (str(r.ttl), sorted(str(v) for v in r.records))
        for r in zone.rrsets
    }
    for change in change_list:
        rrset = change["ResourceRecordSet"]
        key = _key(rrset["Name"], rrset.get("Type"), rrset.get("SetIdentifier"))
        wanted = (str(rrset.get("TTL", 0)), _values(rrset))
        label = f"[name='{key[0]}.', type='{key[1]}']"
        if change["Action"] == "CREATE":
            if key in current:
                raise PreconditionFailed(
                    f"[Tried to create resource record set {label} but it already exists]"
                )
            current[key] = wanted
        elif change["Action"] == "DELETE":
            if key not in current:
                raise PreconditionFailed(f"[Tried to delete resource record set {label} but it was not found]")
            if current[key] != wanted:
                raise PreconditionFailed(
                    f"[Tried to delete resource record set {label} but the values provided do not match "
                    "the current values]"
                )
            del current[key]
        else:  # UPSERT
            current[key] = wanted


_original = Route53Backend.change_resource_record_sets


def change_resource_record_sets(self, zoneid, change_list):
    _check(self.get_hosted_zone(zoneid), change_list)
    return _original(self, zoneid, change_list)


if not getattr(Route53Backend.change_resource_record_sets, "_r53dyn", False):
    change_resource_record_sets._r53dyn = True
    Route53Backend.change_resource_record_sets = change_resource_record_sets


# --- 2. change ids and propagation ---

_changes = {}  # change id -> {"zone": zone name, "pending": polls still to answer PENDING}
_changes_lock = threading.Lock()
_MAX_CHANGES = 10_000  # the oldest are forgotten (and so read INSYNC) beyond this
_ID_ALPHABET = string.ascii_uppercase + string.digits
_PENDING_ZONE = re.compile(r"^pending([0-9]+)(\.|$)", re.IGNORECASE)
_CHANGE_INFO_ID = re.compile(r"<Id>/change/[^<]*</Id>")
_CHANGE_INFO_STATUS = re.compile(r"<Status>[^<]*</Status>")


def _new_change_id():
    return "C" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(13))


def _pending_polls(zone_name):
    match = _PENDING_ZONE.match(zone_name or "")
    return int(match.group(1)) if match else 0


def _rewrite_change_info(body, change_id, pending):
    if isinstance(body, bytes):
        return _rewrite_change_info(body.decode("utf-8"), change_id, pending).encode("utf-8")
    body = _CHANGE_INFO_ID.sub(f"<Id>/change/{change_id}</Id>", body, count=1)
    if pending:
        body = _CHANGE_INFO_STATUS.sub("<Status>PENDING</Status>", body, count=1)
    return body


_original_change_response = Route53.change_resource_record_sets


def change_resource_record_sets_response(self):
    # moto's handler returns the XML as a string; a (status, headers, body) or (body, headers) tuple is also
    # handled in case another wrapper or moto version returns one. Errors are raised and pass through untouched.
    response = _original_change_response(self)
    zone_id = self.parsed_url.path.rstrip("/").rsplit("/", 2)[1]  # as moto reads it: .../hostedzone/<id>/rrset
    zone_name = self.backend.get_hosted_zone(zone_id).name
    change_id = _new_change_id()
    pending = _pending_polls(zone_name)
    with _changes_lock:
        _changes[change_id] = {"zone": zone_name, "pending": pending}
        while len(_changes) > _MAX_CHANGES:
            del _changes[next(iter(_changes))]
    if isinstance(response, (str, bytes)):
        return _rewrite_change_info(response, change_id, pending)
    if isinstance(response, tuple) and len(response) == 3:
        status, headers, body = response
        return status, headers, _rewrite_change_info(body, change_id, pending)
    if isinstance(response, tuple) and len(response) == 2:
        body, headers = response
        return _rewrite_change_info(body, change_id, pending), headers
    return response


_original_get_change = Route53Provider.get_change


def get_change(self, context, id, **kwargs):
    response = _original_get_change(self, context, id, **kwargs)
    change_id = (id or "").rstrip("/").rsplit("/", 1)[-1]
    with _changes_lock:
        change = _changes.get(change_id)
        still_pending = change is not None and change["pending"] > 0
        if still_pending:
            change["pending"] -= 1
    if still_pending:
        response["ChangeInfo"]["Status"] = "PENDING"
    return response


if not getattr(Route53.change_resource_record_sets, "_r53dyn", False):
    change_resource_record_sets_response._r53dyn = True
    Route53.change_resource_record_sets = change_resource_record_sets_response

if not getattr(Route53Provider.get_change, "_r53dyn", False):
    get_change._r53dyn = True
    Route53Provider.get_change = get_change
    # A provider already loaded (EAGER_SERVICE_LOADING may run before start.d) dispatches through a table that
    # bound the original method when it was built: rebuild its GetChange entry the same way.
    from localstack.services.moto import MotoFallbackDispatcher
    from localstack.services.plugins import SERVICE_PLUGINS

    if "route53" in SERVICE_PLUGINS.list_loaded_services():
        _service = SERVICE_PLUGINS.get_service("route53")
        _provider = getattr(_service, "_provider", None)
        if isinstance(_provider, Route53Provider) and _service.skeleton is not None:
            _service.skeleton.dispatch_table["GetChange"] = MotoFallbackDispatcher(_provider)["GetChange"]
