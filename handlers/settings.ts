// The batcher's deploy-time settings, read once from the environment at cold start. A missing or malformed
// value fails the cold start loudly instead of letting a half-configured batcher touch Route 53.
import { AllowlistError, parseAllowlist } from './core/allowlist';
import type { Allowlist } from './core/model';
import { isValidOwnerId } from './core/registry';

export interface BatcherSettings {
  allowlist: Allowlist;
  ownerId: string;
  senderBinding: boolean;
  stateMachineArn: string;
  deadLetterQueueUrl: string;
  /** the workflow role's id: messages it sends back to the queue after a write conflict */
  relayRoleId?: string;
}

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new SettingsError(`environment variable ${name} is not set`);
  return value;
}

export function readSettings(env: NodeJS.ProcessEnv): BatcherSettings {
  let allowlistJson: unknown;
  try {
    allowlistJson = JSON.parse(required(env, 'R53DYN_ALLOWLIST'));
  } catch (error) {
    if (error instanceof SettingsError) throw error;
    throw new SettingsError('R53DYN_ALLOWLIST is not JSON');
  }
  const binding = required(env, 'R53DYN_SENDER_BINDING');
  if (binding !== 'true' && binding !== 'false') {
    throw new SettingsError(`R53DYN_SENDER_BINDING must be "true" or "false", not "${binding}"`);
  }
  let allowlist: Allowlist;
  try {
    allowlist = parseAllowlist(allowlistJson);
  } catch (error) {
    if (error instanceof AllowlistError) throw new SettingsError(`R53DYN_ALLOWLIST: ${error.message}`);
    throw error;
  }
  const ownerId = required(env, 'R53DYN_OWNER_ID');
  if (!isValidOwnerId(ownerId))
    throw new SettingsError(`R53DYN_OWNER_ID "${ownerId}" is not a valid owner id`);
  const relayRoleId = env.R53DYN_RELAY_ROLE_ID || undefined;
  return {
    ...(relayRoleId ? { relayRoleId } : {}),
    allowlist,
    ownerId,
    senderBinding: binding === 'true',
    stateMachineArn: required(env, 'R53DYN_STATE_MACHINE_ARN'),
    deadLetterQueueUrl: required(env, 'R53DYN_DEAD_LETTER_QUEUE_URL'),
  };
}
