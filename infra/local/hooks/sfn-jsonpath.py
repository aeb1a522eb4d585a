# LocalStack boot hook (copied into LocalStack's init/start.d by infra/local/localstack.sh).
#
# Step Functions evaluates JSONPath with Jayway JsonPath: a path that is not definite (a wildcard, a slice, a
# filter or a deep scan anywhere in it) always yields a JSON array of its matches, even when there is exactly
# one. LocalStack 4.13.1 (localstack/services/stepfunctions/asl/utils/json_path.py, extract_json) returns that
# one match bare when the path ends in a field name, so `$.slots[0][*].Action` over a one-element list gives
# "DELETE" instead of ["DELETE"]. The r53dyn workflow compares such lists, so this hook makes LocalStack answer
# as Step Functions does: an indefinite path always yields a list. Definite paths, including literal index
# access such as `$.items[0]` (which Step Functions unwraps), are untouched.
import re
import sys

from jsonpath_ng.ext import parse

from localstack.services.stepfunctions.asl.utils import json_path

_INDEFINITE = re.compile(r"\[\s*\*\s*\]|\.\*|\[[^\]]*:[^\]]*\]|\[\s*\?|\.\.")


def _is_indefinite(path):
    return bool(_INDEFINITE.search(path))


_original = json_path.extract_json


def extract_json(path, data):
    if not _is_indefinite(path):
        return _original(path, data)
    return [match.value for match in parse(path).find(data)]


if not getattr(json_path.extract_json, "_r53dyn", False):
    extract_json._r53dyn = True
    # modules that imported the function by name keep their own reference: replace those too
    for module in list(sys.modules.values()):
        if getattr(module, "extract_json", None) is _original:
            module.extract_json = extract_json
    json_path.extract_json = extract_json
