// The allowlist (docs/design.md §6) is the only thing that grants write access to a zone, so it fails closed:
// a missing list allows nothing, and anything unexpected is an error rather than a guess.
import { z } from 'zod';
import type { Allowlist, ZoneRule } from './model';
import { normaliseZoneSuffix } from './names';

export class AllowlistError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid allowlist: ${problems.join('; ')}`);
    this.name = 'AllowlistError';
  }
}

const hostedZoneIdPrefix = '/hostedzone/';

const hostedZoneId = z
  .string()
  // Route 53 ids are upper-case letters and digits (on AWS they start with Z; LocalStack's need not)
  .regex(/^(\/hostedzone\/)?[A-Z0-9]{1,32}$/, 'must be 1 to 32 upper-case letters or digits')
  .transform((id) => (id.startsWith(hostedZoneIdPrefix) ? id.slice(hostedZoneIdPrefix.length) : id));

const suffix = z.string().transform((raw, ctx) => {
  const result = normaliseZoneSuffix(raw);
  if (result.ok) return result.name;
  ctx.addIssue({ code: 'custom', message: `${JSON.stringify(raw)} ${result.problem.detail}` });
  return z.NEVER;
});

const types = z
  .array(z.enum(['A', 'AAAA']))
  .min(1, 'must list at least one of A, AAAA')
  .refine((list) => new Set(list).size === list.length, 'must not repeat a type')
  .default(['A', 'AAAA']);

const zoneRule = z.strictObject({
  hostedZoneId,
  suffix,
  ttl: z.int().min(0).max(2147483647).default(60),
  types,
  maxValuesPerRecord: z.int().min(1).max(400).default(100),
  leaseSeconds: z.int().min(0).default(0),
  allowPrivate: z.boolean().default(false),
});

const allowlistSchema = z.strictObject({
  zones: z
    .array(zoneRule)
    .default([])
    .superRefine((zones, ctx) => {
      for (const key of ['hostedZoneId', 'suffix'] as const) {
        const seen = new Set<string>();
        zones.forEach((zone, index) => {
          if (seen.has(zone[key])) {
            ctx.addIssue({ code: 'custom', path: [index, key], message: `duplicate ${key} ${zone[key]}` });
          }
          seen.add(zone[key]);
        });
      }
    }),
});

/** Validates and normalises the allowlist, or throws AllowlistError naming every problem with its path. */
export function parseAllowlist(raw: unknown): Allowlist {
  const result = allowlistSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new AllowlistError(
    result.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`),
  );
}

/**
 * A zone's entry as the stack writes it to SSM and as the planner hands it to the workflow (docs/design.md §6):
 * what the workflow needs to check a record, per record, with JSONPath. The workflow refuses a round whose
 * entry differs from the one in SSM, so one function writes both.
 */
export interface ZoneEntry {
  hostedZoneId: string;
  suffix: string;
  ttl: number;
  maxValuesPerRecord: number;
  /** for each address slot type, [type] when the zone serves it, [] when it does not */
  slotTypes: { A: string[]; AAAA: string[] };
}

export function zoneEntry(zone: ZoneRule): ZoneEntry {
  return {
    hostedZoneId: zone.hostedZoneId,
    suffix: zone.suffix,
    ttl: zone.ttl,
    maxValuesPerRecord: zone.maxValuesPerRecord,
    slotTypes: {
      A: zone.types.includes('A') ? ['A'] : [],
      AAAA: zone.types.includes('AAAA') ? ['AAAA'] : [],
    },
  };
}
