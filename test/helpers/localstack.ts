// AWS SDK clients pointed at the LocalStack that infra/local/localstack.sh started (or LOCALSTACK_ENDPOINT).
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { localAwsEnv, localClientConfig, localEndpoint, localRegion } from '../../infra/local/connection';

export const endpoint = localEndpoint;
export const region = localRegion;
export const accountId = '000000000000';
// the fault hook (infra/local/hooks/faults.py) knows the tests' own calls by this user agent
const config = { ...localClientConfig, customUserAgent: 'r53dyn-test' };

/** Environment for child processes (the AWS CLI, the boot script) so they talk to LocalStack. */
export const cliEnv = localAwsEnv;

export const sqs = new SQSClient(config);
export const sfn = new SFNClient(config);
export const route53 = new Route53Client(config);
export const ssm = new SSMClient(config);
export const cloudformation = new CloudFormationClient(config);
export const cloudwatch = new CloudWatchClient(config);
