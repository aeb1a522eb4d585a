// How this project reaches LocalStack: infra/local/localstack.sh's instance, or LOCALSTACK_ENDPOINT.
export const localEndpoint = process.env.LOCALSTACK_ENDPOINT ?? 'http://127.0.0.1:4566';
export const localRegion = 'us-east-1';

/** For SDK clients created with explicit configuration. */
export const localClientConfig = {
  endpoint: localEndpoint,
  region: localRegion,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
};

/** For clients configured from the environment: the batcher's own, the AWS CLI, the boot script. */
export const localAwsEnv = {
  AWS_ENDPOINT_URL: localEndpoint,
  AWS_REGION: localRegion,
  AWS_DEFAULT_REGION: localRegion,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
};
