// Loads and checks a stage's configuration (infra/stages/<stage>.yml) at package time, so that a bad allowlist
// or an impossible bound stops `osls package` / `deploy` with every problem listed, before anything is deployed
// (docs/design.md §6).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AllowlistError, parseAllowlist } from '../handlers/core/allowlist';
import { OWNER_ID_PATTERN, OWNER_ID_RULE } from '../handlers/core/contract';
import { checkZoneFits } from '../handlers/core/limits';
import type { Allowlist } from '../handlers/core/model';

export class StageConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StageConfigError';
  }
}

const roleId = z
  .string()
  .regex(/^AROA[A-Z0-9]{12,124}$/, 'a role unique id (AROA…), as `aws iam get-role` shows it');

const settingsSchema = z.strictObject({
  ownerId: z.string().regex(OWNER_ID_PATTERN, OWNER_ID_RULE),
  senderBinding: z.boolean().default(true),
  instanceRole: z
    .strictObject({
      // the stack creates a role and instance profile that only EC2 instances and ECS tasks can assume
      create: z.boolean().default(true),
      // roles the operator brings: messages from their sessions are accepted too
      existing: z.array(z.strictObject({ name: z.string().min(1), roleId })).default([]),
    })
    .default({ create: true, existing: [] }),
  batcher: z
    .strictObject({
      // messages per invocation: a fleet booting at once becomes a few deltas
      batchSize: z.int().min(1).max(10_000).default(1000),
      windowSeconds: z.int().min(0).max(300).default(30),
      // concurrent invocations (Lambda's maximumConcurrency, at least 2 on AWS; local pollers)
      concurrency: z.int().min(1).max(1000).default(2),
      timeoutSeconds: z.int().min(3).max(900).default(30),
    })
    .default({ batchSize: 1000, windowSeconds: 30, concurrency: 2, timeoutSeconds: 30 }),
  planner: z
    .strictObject({
      timeoutSeconds: z.int().min(3).max(900).default(60),
      // receives after which a message that keeps failing is dead-lettered with its last failure
      maxAttempts: z.int().min(1).max(20).default(5),
      retryBaseSeconds: z.int().min(1).max(3600).default(5),
      retryCapSeconds: z.int().min(1).max(43_200).default(300),
    })
    .default({ timeoutSeconds: 60, maxAttempts: 5, retryBaseSeconds: 5, retryCapSeconds: 300 }),
  workflow: z
    .strictObject({
      retryAttempts: z.int().min(1).max(10).default(5),
      insyncFirstWaitSeconds: z.int().min(1).max(300).default(10),
      insyncMaxWaitSeconds: z.int().min(1).max(3600).default(60),
      insyncTimeoutSeconds: z.int().min(1).max(86_400).default(900),
    })
    .default({
      retryAttempts: 5,
      insyncFirstWaitSeconds: 10,
      insyncMaxWaitSeconds: 60,
      insyncTimeoutSeconds: 900,
    }),
  // how often the fleet's boot script sends a heartbeat (its timer): leases must outlast two of them
  heartbeatSeconds: z.int().min(1).max(86_400).default(300),
  sweepSchedule: z
    .string()
    .regex(/^(rate|cron)\(.+\)$/, 'an EventBridge schedule expression: rate(…) or cron(…)')
    .default('rate(5 minutes)'),
  zones: z.unknown().optional(),
});

type Settings = z.output<typeof settingsSchema>;

export interface StageConfig extends Omit<Settings, 'zones'> {
  stage: string;
  allowlist: Allowlist;
}

/** `${env:NAME}` in a stage file is replaced by that environment variable, which must be set. */
function substituteEnv(text: string, env: NodeJS.ProcessEnv, file: string): string {
  return text.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const value = env[name];
    if (!value) throw new StageConfigError(`${file}: environment variable ${name} is not set`);
    return value;
  });
}

function parseYamlText(text: string, file: string): unknown {
  try {
    return parseYaml(text);
  } catch (error) {
    throw new StageConfigError(
      `${file} is not valid YAML: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

export function parseStageConfig(
  stage: string,
  text: string,
  env: NodeJS.ProcessEnv,
  file = stage,
): StageConfig {
  const raw = parseYamlText(substituteEnv(text, env, file), file);
  const settings = settingsSchema.safeParse(raw ?? {});
  const zones = readZones(raw);
  const invalid = [
    ...(settings.success
      ? []
      : settings.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`)),
    ...('problems' in zones ? zones.problems.map((p) => `  ${p}`) : []),
  ];
  if (!settings.success || 'problems' in zones) {
    throw new StageConfigError(`${file} is not a valid stage configuration:\n${invalid.join('\n')}`);
  }
  const { zones: _zones, ...s } = settings.data;
  const allowlist = zones.allowlist;
  const problems = [
    ...allowlist.zones.flatMap((zone) => checkZoneFits(zone, s.ownerId).map((p) => `  ${zone.suffix}: ${p}`)),
    ...(s.workflow.insyncMaxWaitSeconds < s.workflow.insyncFirstWaitSeconds
      ? ['  workflow.insyncMaxWaitSeconds is below insyncFirstWaitSeconds']
      : []),
    ...(s.planner.retryCapSeconds < s.planner.retryBaseSeconds
      ? ['  planner.retryCapSeconds is below retryBaseSeconds']
      : []),
    ...(s.senderBinding && !s.instanceRole.create && s.instanceRole.existing.length === 0
      ? ['  senderBinding needs an instance role: set instanceRole.create or list instanceRole.existing']
      : []),
    ...leaseProblems(allowlist, s.heartbeatSeconds),
  ];
  if (problems.length > 0) throw new StageConfigError(`${file} cannot be deployed:\n${problems.join('\n')}`);
  return { stage, ...s, allowlist };
}

/** The allowlist of a stage file, or its problems, so that they are listed with the settings' own. */
function readZones(raw: unknown): { allowlist: Allowlist } | { problems: string[] } {
  const zones = typeof raw === 'object' && raw !== null ? (raw as { zones?: unknown }).zones : undefined;
  try {
    return { allowlist: parseAllowlist({ zones: zones ?? [] }) };
  } catch (error) {
    if (error instanceof AllowlistError) return { problems: error.problems };
    throw error;
  }
}

/**
 * A lease is renewed in Route 53 only once more than half used (docs/design.md §4.2), so it must outlast two
 * heartbeats, or a machine that heartbeats on time would expire.
 */
function leaseProblems(allowlist: Allowlist, heartbeatSeconds: number): string[] {
  return allowlist.zones.flatMap((zone) =>
    zone.leaseSeconds > 0 && zone.leaseSeconds < 2 * heartbeatSeconds
      ? [
          `  ${zone.suffix}: leaseSeconds ${zone.leaseSeconds} must be at least twice heartbeatSeconds (${heartbeatSeconds})`,
        ]
      : [],
  );
}

export function loadStageConfig(stage: string, env: NodeJS.ProcessEnv = process.env): StageConfig {
  const file = `infra/stages/${stage}.yml`;
  let text: string;
  try {
    text = readFileSync(join(__dirname, 'stages', `${stage}.yml`), 'utf8');
  } catch {
    throw new StageConfigError(
      `no configuration for stage "${stage}": create ${file} (copy infra/stages/example.yml and set its zones)`,
    );
  }
  return parseStageConfig(stage, text, env, file);
}
