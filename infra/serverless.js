// serverless.yml reads its stage-dependent parts from here: `${file(infra/serverless.js):<key>}`.
// The logic is TypeScript shared with the batcher (allowlist parsing, Route 53 limits), loaded through tsx.
const { require: tsRequire } = require('tsx/cjs/api');

const { loadStageConfig } = tsRequire('./stage-config.ts', __filename);
const { buildResources, allowlistParameterPrefix } = tsRequire('./resources.ts', __filename);

module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  const service = await resolveVariable('self:service');
  const config = loadStageConfig(stage);
  return {
    ownerId: config.ownerId,
    senderBinding: String(config.senderBinding),
    batchSize: config.batchSize,
    batchWindowSeconds: config.batchWindowSeconds,
    allowlistJson: JSON.stringify(config.allowlist),
    workflow: {
      allowlistParameterPrefix: allowlistParameterPrefix(service, stage),
      registrationsQueueUrl: { Ref: 'RegistrationsQueue' },
      deadLetterQueueUrl: { Ref: 'DeadLetterQueue' },
      ...config.workflow,
    },
    resources: buildResources(config, service),
  };
};
