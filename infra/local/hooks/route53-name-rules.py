# LocalStack boot hook (copied into LocalStack's init/start.d by infra/local/localstack.sh).
#
# Route 53 refuses a ChangeBatch that would leave two kinds of record set side by side at one name; LocalStack's
# Route 53 writes them both (a TXT beside a CNAME, a simple A beside weighted ones). This hook adds those
# per-name rules, so that a batch Route 53 would refuse is refused here too, with Route 53's error code
# (InvalidChangeBatch) and message text. docs/route53-name-rules.md lists the rules, their sources, and what
# Route 53 is not known to refuse (records at or below an NS delegation: this hook lets those through).
#
# Route 53 validates a batch as a unit: each change is checked against the zone as it would be after the
# changes before it in the batch (a DELETE of a CNAME followed by a CREATE of an A at its name passes), and
# nothing is applied unless every change passes.
#
# Coexistence with route53-preconditions.py, whatever the load order: this hook wraps whatever
# Route53Backend.change_resource_record_sets is when it loads, keeps the wrapped function's attributes (so a
# hook that marks its own patch still finds its mark), and marks the class so that loading it twice patches once.
import functools

from moto.route53.exceptions import Route53ClientError
from moto.route53.models import Route53Backend

# The policy word Route 53 uses in "cannot be created as a non-<policy> set exists"; only "weighted" has been
# seen in Route 53's answers, the others follow its pattern (unconfirmed).
_POLICY_FIELDS = (
    ("Weight", "weighted"),
    ("Region", "latency"),
    ("Failover", "failover"),
    ("GeoLocation", "geolocation"),
    ("GeoProximityLocation", "geoproximity"),
    ("MultiValueAnswer", "multivalue"),
    ("CidrRoutingConfig", "cidr"),
)


class NameRuleBroken(Route53ClientError):
    code = 400

    def __init__(self, message):
        # Route 53 lists a batch's problems in brackets
        super().__init__("InvalidChangeBatch", f"[{message}]")


def _fqdn(name):
    return name if name.endswith(".") else f"{name}."


def _policy(rrset):
    return next((word for field, word in _POLICY_FIELDS if rrset.get(field) is not None), "weighted")


def _check_cname(name, type_, held, zone_name):
    """
    A CNAME stands alone at its name: Route 53 refuses a CNAME where a record of another type exists, and any
    other record where a CNAME exists.
    https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/ResourceRecordTypes.html#CNAMEFormat
    https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-choosing-alias-non-alias.html
    """
    types = {held_type for held_type, _ in held}
    if type_ == "CNAME" and types - {"CNAME"}:
        raise NameRuleBroken(
            f"RRSet of type CNAME with DNS name {name} is not permitted as it conflicts with other records "
            f"with the same DNS name in zone {zone_name}"
        )
    if type_ != "CNAME" and "CNAME" in types:
        raise NameRuleBroken(
            f"RRSet of type {type_} with DNS name {name} is not permitted because a conflicting RRSet of type "
            f"CNAME with the same DNS name already exists in zone {zone_name}"
        )


def _check_routing_policy(name, type_, set_identifier, rrset, held):
    """
    Record sets of one name and type either all have a routing policy (a SetIdentifier) or are one simple set.
    https://docs.aws.amazon.com/Route53/latest/APIReference/API_ResourceRecordSet.html
    https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/routing-policy.html
    """
    identifiers = [held_id for held_type, held_id in held if held_type == type_]
    if set_identifier is not None and None in identifiers:
        raise NameRuleBroken(
            f"RRSet with DNS name {name}, type {type_}, SetIdentifier {set_identifier} cannot be created as a "
            f"non-{_policy(rrset)} set exists with the same name and type."
        )
    if set_identifier is None and any(held_id is not None for held_id in identifiers):
        raise NameRuleBroken(
            f"RRSet with DNS name {name}, type {type_} cannot be created as other RRSets exist with the same "
            "name and type."
        )


def _check(zone, change_list):
    zone_name = _fqdn(zone.name)
    # lower-case name -> {(type, set identifier)}, as the zone would be after the changes checked so far
    held = {}
    for record in zone.rrsets:
        held.setdefault(_fqdn(record.name).lower(), set()).add((record.type_, record.set_identifier))
    for change in change_list:
        rrset = change["ResourceRecordSet"]
        name = _fqdn(rrset["Name"])
        type_ = rrset.get("Type")
        set_identifier = rrset.get("SetIdentifier")
        here = held.setdefault(name.lower(), set())
        if change["Action"] in ("DELETE", "UPSERT"):
            here.discard((type_, set_identifier))
        if change["Action"] in ("CREATE", "UPSERT"):
            _check_cname(name, type_, here, zone_name)
            _check_routing_policy(name, type_, set_identifier, rrset, here)
            here.add((type_, set_identifier))


if not getattr(Route53Backend, "_r53dyn_name_rules", False):
    _previous = Route53Backend.change_resource_record_sets

    @functools.wraps(_previous)
    def change_resource_record_sets(self, zoneid, change_list):
        _check(self.get_hosted_zone(zoneid), change_list)
        return _previous(self, zoneid, change_list)

    Route53Backend.change_resource_record_sets = change_resource_record_sets
    Route53Backend._r53dyn_name_rules = True
