// AWS SDK clients pointed at the LocalStack that infra/local/localstack.sh started (or LOCALSTACK_ENDPOINT).
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';

export const endpoint = process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566';
export const region = 'us-east-1';
export const accountId = '000000000000';

const config = {
  endpoint,
  region,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
};

/** Environment for child processes (the AWS CLI, the boot script) so they talk to LocalStack. */
export const cliEnv = {
  AWS_ENDPOINT_URL: endpoint,
  AWS_DEFAULT_REGION: region,
  AWS_REGION: region,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
};

export const sqs = new SQSClient(config);
export const sfn = new SFNClient(config);
export const route53 = new Route53Client(config);
export const ssm = new SSMClient(config);
export const cloudformation = new CloudFormationClient(config);
