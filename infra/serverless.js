// serverless.yml reads its stage-dependent parts from here: `${file(infra/serverless.js):<key>}`.
// The logic is TypeScript shared with the handlers (allowlist, limits, the workflow builder), loaded through tsx.
const { require: tsRequire } = require('tsx/cjs/api');

const { loadStageConfig } = tsRequire('./stage-config.ts', __filename);
const { buildResources, functionEnvironments, workflowValues } = tsRequire('./resources.ts', __filename);
const { buildWorkflow } = tsRequire('../workflows/apply-zone-change.ts', __filename);

/**
 * A bad stage file is the user's to fix, not a bug: the framework prints the error's stack, so the stack is
 * just the message, which names the file and what to change.
 */
function stageConfig(stage) {
  try {
    return loadStageConfig(stage);
  } catch (error) {
    if (error && error.name === 'StageConfigError') error.stack = error.message;
    throw error;
  }
}

module.exports = async ({ resolveVariable }) => {
  const stage = await resolveVariable('sls:stage');
  const service = await resolveVariable('self:service');
  const config = stageConfig(stage);
  const environments = functionEnvironments(config, service);
  return {
    batcher: {
      ...config.batcher,
      // Lambda's SQS event source allows 2 to 1000 concurrent batches
      maximumConcurrency: Math.max(2, config.batcher.concurrency),
      environment: environments.batcher,
    },
    planner: { ...config.planner, environment: environments.planner },
    definition: buildWorkflow(workflowValues(config, service)),
    resources: buildResources(config, service),
  };
};
