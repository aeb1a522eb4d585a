#!/usr/bin/env node
// The `r53dyn` command (package.json `bin`): runs infra/cli/main.ts through tsx, as infra/serverless.js loads
// the stack's TypeScript, so a fresh `npm ci` is all it needs.

// The SDK's notice about future Node.js versions would interleave with tables and JSON.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { require: tsRequire } = require('tsx/cjs/api');
const { main } = tsRequire('./main.ts', __filename);

const io = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
  now: Date.now,
};

main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`r53dyn: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
