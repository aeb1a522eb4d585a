// Loads and checks a stage's configuration (infra/stages/<stage>.yml) at package time, so that a bad
// allowlist stops `serverless package` / `deploy` with every problem listed, before anything is deployed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseAllowlist } from '../handlers/core/allowlist';
import { checkZoneFits } from '../handlers/core/limits';
import type { Allowlist } from '../handlers/core/model';

export class StageConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StageConfigError';
  }
}

const settingsSchema = z
  .object({
    ownerId: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lower-case letters, digits and dashes, at most 40'),
    senderBinding: z.boolean().default(true),
    batch: z
      .object({
        // a batch's messages travel in the workflow input for requeueing: keep it well under 256 KiB
        size: z.number().int().min(1).max(250).default(100),
        windowSeconds: z.number().int().min(0).max(300).default(10),
      })
      .strict()
      .default({ size: 100, windowSeconds: 10 }),
    workflow: z
      .object({
        maxRequeueAttempts: z.number().int().min(0).max(20).default(5),
        insyncFirstWaitSeconds: z.number().int().min(1).max(300).default(10),
        insyncMaxWaitSeconds: z.number().int().min(1).max(3600).default(60),
        insyncTimeoutSeconds: z.number().int().min(1).max(86400).default(900),
      })
      .strict()
      .default({
        maxRequeueAttempts: 5,
        insyncFirstWaitSeconds: 10,
        insyncMaxWaitSeconds: 60,
        insyncTimeoutSeconds: 900,
      }),
    sweepSchedule: z
      .string()
      .regex(/^(rate|cron)\(.+\)$/)
      .default('rate(5 minutes)'),
    zones: z.unknown().optional(),
  })
  .strict();

export interface StageConfig {
  stage: string;
  ownerId: string;
  senderBinding: boolean;
  batchSize: number;
  batchWindowSeconds: number;
  sweepSchedule: string;
  allowlist: Allowlist;
  workflow: {
    maxRequeueAttempts: number;
    insyncFirstWaitSeconds: number;
    insyncMaxWaitSeconds: number;
    insyncTimeoutSeconds: number;
  };
}

/** `${env:NAME}` in a stage file is replaced by that environment variable, which must be set. */
function substituteEnv(text: string, env: NodeJS.ProcessEnv, file: string): string {
  return text.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = env[name];
    if (!value) throw new StageConfigError(`${file}: environment variable ${name} is not set`);
    return value;
  });
}

export function parseStageConfig(
  stage: string,
  text: string,
  env: NodeJS.ProcessEnv,
  file = stage,
): StageConfig {
  const raw: unknown = parseYaml(substituteEnv(text, env, file));
  const settings = settingsSchema.safeParse(raw ?? {});
  if (!settings.success) {
    const problems = settings.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new StageConfigError(`${file} is not a valid stage configuration:\n${problems.join('\n')}`);
  }
  const s = settings.data;
  const allowlist = parseAllowlist({ zones: s.zones ?? [] });
  const misfits = allowlist.zones.flatMap((zone) =>
    checkZoneFits(zone, s.ownerId).map((p) => `  ${zone.suffix}: ${p}`),
  );
  if (misfits.length > 0) {
    throw new StageConfigError(
      `${file}: a zone's bounds cannot fit one Route 53 ChangeBatch:\n${misfits.join('\n')}`,
    );
  }
  if (s.workflow.insyncMaxWaitSeconds < s.workflow.insyncFirstWaitSeconds) {
    throw new StageConfigError(`${file}: workflow.insyncMaxWaitSeconds is below insyncFirstWaitSeconds`);
  }
  return {
    stage,
    ownerId: s.ownerId,
    senderBinding: s.senderBinding,
    batchSize: s.batch.size,
    batchWindowSeconds: s.batch.windowSeconds,
    sweepSchedule: s.sweepSchedule,
    allowlist,
    workflow: s.workflow,
  };
}

export function loadStageConfig(stage: string, env: NodeJS.ProcessEnv = process.env): StageConfig {
  const file = join(__dirname, 'stages', `${stage}.yml`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new StageConfigError(`no configuration for stage "${stage}": create infra/stages/${stage}.yml`);
  }
  return parseStageConfig(stage, text, env, `infra/stages/${stage}.yml`);
}
