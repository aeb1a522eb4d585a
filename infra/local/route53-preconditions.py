# LocalStack boot hook (copied into LocalStack's init/start.d by infra/local/localstack.sh).
#
# Route 53 rejects a whole ChangeBatch with InvalidChangeBatch when a CREATE names an rrset that already exists
# or a DELETE does not match the current rrset exactly. r53dyn's compare-and-swap relies on that; LocalStack's
# Route 53 does not check it (a second CREATE adds a duplicate rrset, a stale DELETE removes the new one).
# This hook adds those two preconditions, checked for the whole batch before anything is applied, so that
# write conflicts behave locally as they do on AWS.
from moto.route53.exceptions import Route53ClientError
from moto.route53.models import Route53Backend


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
