// The handlers' deploy-time settings, read once from the environment at cold start (docs/design.md §6). A missing
// or malformed value fails the cold start loudly instead of letting a half-configured function run. The names
// of the variables are defined here and imported by infra/resources.ts, which sets them.
import { AllowlistError, parseAllowlist } from './core/allowlist';
import type { SenderBinding } from './core/message';
import type { Allowlist } from './core/model';
import { isValidOwnerId } from './core/registry';

export const ENVIRONMENT = {
  allowlist: 'R53DYN_ALLOWLIST',
  ownerId: 'R53DYN_OWNER_ID',
  senderBinding: 'R53DYN_SENDER_BINDING',
  instanceRoleIds: 'R53DYN_INSTANCE_ROLE_IDS',
  relayRoleIds: 'R53DYN_RELAY_ROLE_IDS',
  eventsQueueArn: 'R53DYN_EVENTS_QUEUE_ARN',
  zoneQueueUrl: 'R53DYN_ZONE_QUEUE_URL',
  deadLetterQueueUrl: 'R53DYN_DEAD_LETTER_QUEUE_URL',
  stateMachineArn: 'R53DYN_STATE_MACHINE_ARN',
  maxAttempts: 'R53DYN_MAX_ATTEMPTS',
  retryBaseSeconds: 'R53DYN_RETRY_BASE_SECONDS',
  retryCapSeconds: 'R53DYN_RETRY_CAP_SECONDS',
} as const;

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new SettingsError(`environment variable ${name} is not set`);
  return value;
}

function list(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function count(env: Env, name: string, min: number, max: number): number {
  const text = required(env, name);
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(`${name} must be an integer from ${min} to ${max}, not "${text}"`);
  }
  return value;
}

function allowlistOf(env: Env): Allowlist {
  let json: unknown;
  try {
    json = JSON.parse(required(env, ENVIRONMENT.allowlist));
  } catch (error) {
    if (error instanceof SettingsError) throw error;
    throw new SettingsError(`${ENVIRONMENT.allowlist} is not JSON`);
  }
  try {
    return parseAllowlist(json);
  } catch (error) {
    if (error instanceof AllowlistError)
      throw new SettingsError(`${ENVIRONMENT.allowlist}: ${error.message}`);
    throw error;
  }
}

function senderBindingOf(env: Env): SenderBinding {
  const binding = required(env, ENVIRONMENT.senderBinding);
  if (binding !== 'true' && binding !== 'false') {
    throw new SettingsError(`${ENVIRONMENT.senderBinding} must be "true" or "false", not "${binding}"`);
  }
  if (binding === 'false') return false;
  const instanceRoleIds = list(env, ENVIRONMENT.instanceRoleIds);
  if (instanceRoleIds.length === 0) {
    throw new SettingsError(
      `${ENVIRONMENT.instanceRoleIds} must list at least one role id when sender binding is on`,
    );
  }
  return { instanceRoleIds };
}

export interface BatcherSettings {
  allowlist: Allowlist;
  senderBinding: SenderBinding;
  relayRoleIds: string[];
  eventsQueueArn: string;
  zoneQueueUrl: string;
  deadLetterQueueUrl: string;
}

export function readBatcherSettings(env: Env): BatcherSettings {
  return {
    allowlist: allowlistOf(env),
    senderBinding: senderBindingOf(env),
    relayRoleIds: list(env, ENVIRONMENT.relayRoleIds),
    eventsQueueArn: required(env, ENVIRONMENT.eventsQueueArn),
    zoneQueueUrl: required(env, ENVIRONMENT.zoneQueueUrl),
    deadLetterQueueUrl: required(env, ENVIRONMENT.deadLetterQueueUrl),
  };
}

export interface PlannerSettings {
  allowlist: Allowlist;
  ownerId: string;
  stateMachineArn: string;
  zoneQueueUrl: string;
  deadLetterQueueUrl: string;
  maxAttempts: number;
  retryBackoff: { baseSeconds: number; capSeconds: number };
}

export function readPlannerSettings(env: Env): PlannerSettings {
  const ownerId = required(env, ENVIRONMENT.ownerId);
  if (!isValidOwnerId(ownerId))
    throw new SettingsError(`${ENVIRONMENT.ownerId} "${ownerId}" is not a valid owner id`);
  return {
    allowlist: allowlistOf(env),
    ownerId,
    stateMachineArn: required(env, ENVIRONMENT.stateMachineArn),
    zoneQueueUrl: required(env, ENVIRONMENT.zoneQueueUrl),
    deadLetterQueueUrl: required(env, ENVIRONMENT.deadLetterQueueUrl),
    maxAttempts: count(env, ENVIRONMENT.maxAttempts, 1, 100),
    retryBackoff: {
      baseSeconds: count(env, ENVIRONMENT.retryBaseSeconds, 1, 3600),
      capSeconds: count(env, ENVIRONMENT.retryCapSeconds, 1, 43_200),
    },
  };
}
