# LocalStack boot hook (copied into LocalStack's init/start.d by infra/local/localstack.sh).
#
# Step Functions names an AWS SDK integration's error `<ServiceName>.<ErrorName>`, "both in Pascal case"
# (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html: AcmPca.ResourceNotFoundException,
# S3.BucketAlreadyExistsException), so SSM's ParameterNotFound is `Ssm.ParameterNotFoundException` and SQS's
# RequestThrottled `Sqs.RequestThrottledException`. LocalStack 4.13.1 (state_task_service_aws_sdk.py,
# _normalise_service_error_name) uses the service id with its spaces removed, which keeps acronyms upper case
# (`SSM.…`, `SQS.…`), so the workflow's Retry and Catch clauses, written as on AWS, never match locally. This hook
# makes an all-capitals service name Pascal case (SSM -> Ssm, SQS -> Sqs); mixed-case names (Route53, DynamoDb, Sfn)
# are left as they are.
from localstack.services.stepfunctions.asl.component.state.state_execution.state_task.service import (
    state_task_service_aws_sdk as aws_sdk,
)

_service = aws_sdk.StateTaskServiceAwsSdk
_original = _service._normalise_service_error_name


def _pascal(name):
    return name[:1] + name[1:].lower() if name.isupper() else name


def _normalise_service_error_name(service_name):
    return _pascal(_original(service_name))


if not getattr(_service._normalise_service_error_name, "_r53dyn", False):
    _normalise_service_error_name._r53dyn = True
    _service._normalise_service_error_name = staticmethod(_normalise_service_error_name)
