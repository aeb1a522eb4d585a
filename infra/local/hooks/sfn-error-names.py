# LocalStack boot hook (copied into LocalStack's init/start.d by infra/local/localstack.sh).
#
# Step Functions names an error of an aws-sdk integration <Service>.<Exception>, the service spelled as the AWS
# SDK for Java v2 spells its client: Ssm, Sqs, Route53, DynamoDb, Ec2, AcmPca
# (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html: "Ssm.ParameterNotFound-
# Exception", causes reading "(Service: Ssm, Status Code: 400, ...)"). LocalStack 4.13.1
# (localstack/services/stepfunctions/asl/component/state/state_execution/state_task/service/
# state_task_service_aws_sdk.py, _normalise_service_error_name) takes the botocore service id with its spaces
# removed, so SSM's errors read "SSM.ParameterNotFoundException" and SQS's "SQS.QueueDoesNotExistException":
# a Catch or Retry written for AWS ("Ssm.…", "Sqs.…") never matches them. This hook spells the service as AWS
# does: every word of the service id that is all upper case (an acronym: SSM, SQS, EC2, ACM, PCA) is written
# with only its first letter upper case, the other words are kept, and the words are joined. LocalStack's own
# explicit names (DynamoDb, Sfn) are kept. Route 53's errors ("Route53.…") are unchanged by this rule.
from botocore.exceptions import UnknownServiceError

from localstack.aws.spec import get_service_catalog
from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service import (
    state_task_service_aws_sdk as aws_sdk,
)

_Task = aws_sdk.StateTaskServiceAwsSdk
_original = _Task._normalise_service_error_name


def _java_word(word):
    return word[:1].upper() + word[1:].lower() if word.isupper() else word


def normalise_service_error_name(service_name):
    explicit = aws_sdk._SERVICE_ERROR_NAMES.get(service_name.lower())
    if explicit is not None:
        return explicit
    try:
        service_model = get_service_catalog().get(service_name)
    except UnknownServiceError:
        service_model = None
    if service_model is None:
        return _original(service_name)
    return "".join(_java_word(word) for word in service_model.service_id.split(" "))


if not getattr(_original, "_r53dyn", False):
    normalise_service_error_name._r53dyn = True
    _Task._normalise_service_error_name = staticmethod(normalise_service_error_name)
