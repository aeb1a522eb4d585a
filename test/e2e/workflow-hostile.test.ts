// Executions whose input the planner would never produce (docs/design.md §8.2): each starts from a round the
// real planner planned for `web` in a zone of its own, altered in one way. The workflow must refuse every one
// from the zone's allowlist entry in SSM, before any Route 53 call, with RecordNotAllowed or
// SettingsUnavailable, leave the zone as it was, and release the round's deltas with their `later` visibility
// (docs/design.md §8.3), so the planner reads the refusal back when they return.
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { reasonCode } from '../../handlers/core/contract';
import type { WorkflowInput, WorkflowRecord } from '../../handlers/core/workflow-input';
import { zoneParameterValue } from '../../infra/resources';
import { ssm } from '../helpers/localstack';
import {
  createWorkflowFixture,
  type DeltaState,
  deltaStates,
  endVerdicts,
  type FinishedExecution,
  inBatches,
  type PlannedRound,
  planTestRound,
  publicIpv4s,
  recordSets,
  recordsBelow,
  registration,
  runExecution,
  statesEntered,
  type TestZone,
  taskCalls,
  type WorkflowFixture,
  type ZoneOptions,
} from '../helpers/workflow';

jest.setTimeout(300_000);

type Rrset = Record<string, unknown>;
type Tamper = (input: WorkflowInput, zone: TestZone) => void;

interface HostileCase {
  title: string;
  zone?: ZoneOptions;
  tamper: Tamper;
  error: 'RecordNotAllowed' | 'SettingsUnavailable';
  cause: (zone: TestZone, input: WorkflowInput) => string | RegExp;
}

const record = (input: WorkflowInput): WorkflowRecord => {
  const found = input.parts[0]?.records[0];
  if (!found) throw new Error('the round has no record');
  return found;
};
/** The ResourceRecordSet of the one change in slot `i` of the round's record. */
const rrset = (input: WorkflowInput, i: number): Rrset => {
  const change = record(input).slots[i]?.[0];
  if (!change) throw new Error(`slot ${i} is empty`);
  return change.ResourceRecordSet as unknown as Rrset;
};
/** The record renamed, its changes' names with it, as a planner that took the name at face value would. */
const renamed =
  (name: string): Tamper =>
  (input, zone) => {
    const r = record(input);
    for (const change of r.slots.flat()) {
      change.ResourceRecordSet.Name = change.ResourceRecordSet.Name.replace(
        `web.${zone.suffix}.`,
        `${name}.${zone.suffix}.`,
      );
    }
    r.name = name;
  };

const refused = (name: string) => () => JSON.stringify({ records: [name] });
const namesRule = (names: string[]) => () =>
  `a relative name is empty, has an empty label, a hyphen at a label edge, or is reserved (_r53dyn…) and carries addresses: ${JSON.stringify(names)}`;
const ROUTING_FIELDS_CAUSE =
  'a change carries an alias or routing field (AliasTarget, SetIdentifier, Weight, Region, GeoLocation, GeoProximityLocation, Failover, MultiValueAnswer, HealthCheckId, TrafficPolicyInstanceId, CidrRoutingConfig)';

/** Slots of the planned record for `web`: [1] CREATE A, [3] CREATE AAAA, [5] CREATE TXT. */
const slotCases: HostileCase[] = (
  [
    ['an A in the zone but outside the suffix', (i, z) => (rrset(i, 1).Name = `web.${z.zoneName}.`)],
    ['an A in another zone', (i) => (rrset(i, 1).Name = 'web.example.org.')],
    ['an A under evil<suffix> (no label boundary)', (i, z) => (rrset(i, 1).Name = `web.evil${z.suffix}.`)],
    ['an A at the suffix itself', (i, z) => (rrset(i, 1).Name = `${z.suffix}.`)],
    ['an A named in upper case', (i, z) => (rrset(i, 1).Name = `WEB.${z.suffix}.`)],
    ['an A named with an escape', (i, z) => (rrset(i, 1).Name = `\\119eb.${z.suffix}.`)],
    ['a TXT at the address name', (i, z) => (rrset(i, 5).Name = `web.${z.suffix}.`)],
    ['a registry TXT of another record', (i, z) => (rrset(i, 5).Name = `_r53dyn.api.${z.suffix}.`)],
    ['an A at the registry name', (i, z) => (rrset(i, 1).Name = `_r53dyn.web.${z.suffix}.`)],
    ['a DELETE in a CREATE slot', (i) => ((record(i).slots[1][0] as { Action: string }).Action = 'DELETE')],
    ['an UPSERT', (i) => ((record(i).slots[1][0] as { Action: string }).Action = 'UPSERT')],
    ['a CREATE in a DELETE slot', (i) => record(i).slots[0].push(...record(i).slots[1].splice(0))],
    [
      'two changes in one slot',
      (i) =>
        record(i).slots[1].push({
          Action: 'CREATE',
          ResourceRecordSet: structuredClone(rrset(i, 1)),
        } as never),
    ],
    ['a seventh slot', (i) => (record(i).slots as unknown as unknown[]).push([])],
    ['a CREATE without a TTL', (i) => delete rrset(i, 1).TTL],
    ['a CREATE without a name', (i) => delete rrset(i, 3).Name],
    ['a CREATE without a type', (i) => delete rrset(i, 5).Type],
    ['a CREATE without values', (i) => delete rrset(i, 1).ResourceRecords],
    ['a CNAME in the A slot', (i) => (rrset(i, 1).Type = 'CNAME')],
    ['an NS in the A slot', (i) => (rrset(i, 1).Type = 'NS')],
    ['an A in the AAAA slot', (i) => (rrset(i, 3).Type = 'A')],
    ['an A in the TXT slot', (i) => (rrset(i, 5).Type = 'A')],
    ['a TTL other than the zone’s', (i) => (rrset(i, 1).TTL = 300)],
    ['a registry TTL other than the zone’s', (i) => (rrset(i, 5).TTL = 3600)],
    [
      'more A values than maxValuesPerRecord (100)',
      (i) => (rrset(i, 1).ResourceRecords = publicIpv4s(101).map((Value) => ({ Value }))),
    ],
    [
      'more registry values than Route 53 allows in an rrset (400)',
      (i) => (rrset(i, 5).ResourceRecords = publicIpv4s(401).map((ip) => ({ Value: `"${ip}"` }))),
    ],
  ] as [string, Tamper][]
).map(([title, tamper]) => ({
  title,
  tamper,
  error: 'RecordNotAllowed' as const,
  cause: refused('web'),
}));

const typeCases: HostileCase[] = [
  {
    title: 'an AAAA in a zone that serves only A',
    zone: { rule: { types: ['A'] } },
    tamper: (i, z) => {
      record(i).slots[3].push({
        Action: 'CREATE',
        ResourceRecordSet: {
          Name: `web.${z.suffix}.`,
          Type: 'AAAA',
          TTL: 60,
          ResourceRecords: [{ Value: '2600:1f18::1' }],
        },
      });
    },
    error: 'RecordNotAllowed',
    cause: refused('web'),
  },
];

const routingCases: HostileCase[] = (
  [
    [
      'AliasTarget',
      { HostedZoneId: 'Z2FDTNDATAQYW2', DNSName: 'evil.cloudfront.net.', EvaluateTargetHealth: false },
    ],
    ['SetIdentifier', 'evil'],
    ['Weight', 100],
    ['Region', 'us-east-1'],
    ['GeoLocation', { CountryCode: 'DE' }],
    ['GeoProximityLocation', { AWSRegion: 'us-east-1', Bias: 10 }],
    ['Failover', 'PRIMARY'],
    ['MultiValueAnswer', true],
    ['HealthCheckId', 'abcdef11-2222-3333-4444-555555fedcba'],
    ['TrafficPolicyInstanceId', 'abcdef11-2222-3333-4444-555555fedcba'],
    ['CidrRoutingConfig', { CollectionId: 'c8c02a84-aaaa-bbbb-e0d2-d833a2f80106', LocationName: 'evil' }],
  ] as const
).map(([field, value], n) => ({
  title: `${field} on a change (slot ${[1, 3, 5][n % 3]})`,
  tamper: (i: WorkflowInput) => {
    rrset(i, [1, 3, 5][n % 3] as number)[field] = value;
  },
  error: 'RecordNotAllowed' as const,
  cause: () => ROUTING_FIELDS_CAUSE,
}));

const nameCases: HostileCase[] = [
  ...[
    ['an empty name (the suffix itself)', ''],
    ['an empty label', 'a..web'],
    ['a leading dot', '.web'],
    ['a trailing dot', 'web.'],
    ['a label starting with a hyphen', '-web'],
    ['a label ending with a hyphen', 'web-'],
    ['an inner label starting with a hyphen', 'a.-web'],
    ['an inner label ending with a hyphen', 'a-.web'],
    ['the gone list carrying addresses', '_r53dyn-gone'],
    ['the registry label carrying addresses', '_r53dyn'],
    ['a first label starting with _r53dyn carrying addresses', '_r53dynx.web'],
  ].map(([title, name]) => ({
    title: title as string,
    tamper: renamed(name as string),
    error: 'RecordNotAllowed' as const,
    cause: namesRule([name as string]),
  })),
  ...[
    ['upper case', 'Web'],
    ['a wildcard', '*'],
    ['a wildcard label', '*.web'],
    ['an escape', 'we\\b'],
    ['the octal escape of *', '\\052'],
    ['non-ASCII', 'wéb'],
    ['a space', 'w eb'],
    ['a quote', 'we"b'],
    ['a control character', 'we\nb'],
  ].map(([title, name]) => ({
    title: title as string,
    tamper: renamed(name as string),
    error: 'RecordNotAllowed' as const,
    cause: refused(name as string),
  })),
];

const shapeCases: HostileCase[] = [
  {
    title: 'five slots',
    tamper: (i) => {
      (record(i).slots as unknown as unknown[]).pop();
    },
    error: 'RecordNotAllowed',
    cause: () => /^the changes are not shaped as the planner shapes them: /,
  },
  {
    title: 'slots that are not lists',
    tamper: (i) => {
      (record(i) as unknown as { slots: unknown }).slots = 'CREATE';
    },
    error: 'RecordNotAllowed',
    cause: () => /^the changes are not shaped as the planner shapes them: /,
  },
  {
    title: 'a name that is not a string',
    tamper: (i) => {
      (record(i) as unknown as { name: unknown }).name = ['web'];
    },
    error: 'RecordNotAllowed',
    cause: () => /^the changes are not shaped as the planner shapes them: /,
  },
];

/** The zone-level checks: SSM's entry against the input's, and the input's zone id against both. */
const zoneCases: HostileCase[] = [
  {
    title: 'a zone entry that differs from the one in SSM',
    tamper: (i) => {
      i.zone.ttl = 300;
      for (const change of record(i).slots.flat()) change.ResourceRecordSet.TTL = 300;
    },
    error: 'SettingsUnavailable',
    cause: (z, i) =>
      `the planner planned with zone entry ${JSON.stringify(i.zone)} but the allowlist holds ${zoneParameterValue(z.rule)}`,
  },
  {
    title: 'a hosted zone that has no allowlist entry in SSM',
    zone: { allowlisted: false },
    tamper: () => {},
    error: 'SettingsUnavailable',
    cause: (z) => `no allowlist entry ${z.parameterName} for this hosted zone (yet)`,
  },
  {
    title: 'a hosted zone id with a path below it',
    tamper: (i) => {
      i.hostedZoneId = `${i.hostedZoneId}/x`;
    },
    error: 'SettingsUnavailable',
    cause: (z) => `no allowlist entry ${z.parameterName}/x for this hosted zone (yet)`,
  },
  {
    title: 'a hosted zone id climbing out of the prefix',
    tamper: (i) => {
      i.hostedZoneId = `../zones/${i.hostedZoneId}`;
    },
    error: 'SettingsUnavailable',
    cause: (z) =>
      `no allowlist entry ${z.parameterName.replace(/[^/]+$/, '')}../zones/${z.zoneId} for this hosted zone (yet)`,
  },
  {
    title: 'the /hostedzone/ form of the id (not a parameter name)',
    tamper: (i) => {
      i.hostedZoneId = `/hostedzone/${i.hostedZoneId}`;
    },
    error: 'RecordNotAllowed',
    cause: (z) => new RegExp(`^hosted zone id /hostedzone/${z.zoneId} names no allowlist entry: `),
  },
  {
    title: 'a hosted zone id that is not a string',
    tamper: (i) => {
      (i as unknown as { hostedZoneId: unknown }).hostedZoneId = [i.hostedZoneId];
    },
    error: 'SettingsUnavailable',
    cause: (z) =>
      `no allowlist entry ${z.parameterName.replace(/[^/]+$/, '')}[${z.zoneId}] for this hosted zone (yet)`,
  },
];

let fixture: WorkflowFixture;
/** An allowlisted zone no round writes: its entry is the "other zone" of the cases below. */
let other: TestZone;

/** A case whose input names another allowlisted zone, or whose SSM entry is another zone's. */
const crossZoneCases = (): HostileCase[] => [
  {
    title: 'the hosted zone id of another allowlisted zone',
    tamper: (i) => {
      i.hostedZoneId = other.zoneId;
    },
    error: 'SettingsUnavailable',
    cause: (_, i) =>
      `the planner planned with zone entry ${JSON.stringify(i.zone)} but the allowlist holds ${zoneParameterValue(other.rule)}`,
  },
  {
    title: 'an entry in SSM that names another hosted zone',
    tamper: (i) => {
      i.zone = JSON.parse(zoneParameterValue({ ...other.rule }));
    },
    error: 'RecordNotAllowed',
    cause: (z) => `the input is for hosted zone ${z.zoneId} but names the entry of another`,
  },
];

interface Outcome {
  hostile: HostileCase;
  round: PlannedRound;
  input: WorkflowInput;
  before: unknown;
  execution: FinishedExecution;
  /** the round's deltas as the execution left them */
  deltas: DeltaState[];
}

async function refuse(hostile: HostileCase): Promise<Outcome> {
  const zone = await fixture.createZone(hostile.zone);
  if (hostile.title === 'an entry in SSM that names another hosted zone') {
    await ssm.send(
      new PutParameterCommand({
        Name: zone.parameterName,
        Value: zoneParameterValue(other.rule),
        Type: 'String',
        Overwrite: true,
      }),
    );
  }
  const address = hostile.zone?.rule?.types?.includes('AAAA') === false ? {} : { ipv6: '2600:1f18::1' };
  const round = await planTestRound(fixture, zone, [
    registration(zone, 'web', 1, { ipv4: '52.95.1.1', ...address }),
  ]);
  const input = structuredClone(round.input);
  hostile.tamper(input, zone);
  const before = await recordSets(zone.zoneId);
  const execution = await runExecution(fixture, input);
  return { hostile, round, input, before, execution, deltas: await deltaStates(fixture, round) };
}

let outcomes: Map<string, Outcome>;

beforeAll(async () => {
  fixture = await createWorkflowFixture('r53dyn-test-workflow-hostile');
  other = await fixture.createZone({ label: 'other' });
  const all = [
    ...slotCases,
    ...typeCases,
    ...routingCases,
    ...nameCases,
    ...shapeCases,
    ...zoneCases,
    ...crossZoneCases(),
  ];
  outcomes = new Map((await inBatches(all, 6, refuse)).map((o) => [o.hostile.title, o]));
});

afterAll(() => fixture.cleanUp());

const titles = () =>
  [...slotCases, ...typeCases, ...routingCases, ...nameCases, ...shapeCases, ...zoneCases].map(
    (c) => c.title,
  );

describe('a hostile round', () => {
  it.each([
    ...titles(),
    'the hosted zone id of another allowlisted zone',
    'an entry in SSM that names another hosted zone',
  ])('is refused before any Route 53 call: %s', async (title) => {
    const { hostile, round, input, before, execution, deltas } = outcomes.get(title) as Outcome;

    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe(hostile.error);
    const cause = hostile.cause(round.zone, input);
    // JSON causes are compared as JSON: Step Functions may escape non-ASCII characters or not
    if (typeof cause === 'string' && cause.startsWith('{'))
      expect(JSON.parse(execution.cause ?? '')).toEqual(JSON.parse(cause));
    else if (typeof cause === 'string') expect(execution.cause).toBe(cause);
    else expect(execution.cause).toMatch(cause);
    expect(taskCalls(execution.history, 'route53:changeResourceRecordSets')).toEqual([]);
    expect(statesEntered(execution.history)).not.toContain('ApplyParts');
    expect(await recordSets(round.zone.zoneId)).toEqual(before);
    expect(taskCalls(execution.history, 'sqs:deleteMessageBatch')).toEqual([]);
    expect(taskCalls(execution.history, 'sqs:changeMessageVisibilityBatch')).toEqual([
      {
        parameters: { QueueUrl: fixture.queueUrl, Entries: input.release.later },
        output: { Successful: round.deltas.map((_, n) => ({ Id: `d${n}` })), Failed: [] },
      },
    ]);
    expect(deltas).toEqual(round.deltas.map(() => 'in flight'));
    // and the planner, when they come back, refuses the round or retries it (docs/design.md §4.5)
    expect(
      endVerdicts(round, execution).map((v) => [v.kind, 'reason' in v ? reasonCode(v.reason) : '']),
    ).toEqual(
      hostile.error === 'RecordNotAllowed'
        ? [['refuse', 'record-not-allowed']]
        : [['retry', 'settings-unavailable']],
    );
  });
});

describe('the same round unaltered', () => {
  it('is written, so the refusals above are the checks at work', async () => {
    // Arrange
    const zone = await fixture.createZone();
    const round = await planTestRound(fixture, zone, [
      registration(zone, 'web', 1, { ipv4: '52.95.1.1', ipv6: '2600:1f18::1' }),
    ]);

    // Act
    const execution = await runExecution(fixture, round.input);

    // Assert
    expect(execution.status).toBe('SUCCEEDED');
    expect(Object.keys(await recordsBelow(zone)).sort()).toEqual([
      `_r53dyn.web.${zone.suffix}. TXT`,
      `web.${zone.suffix}. A`,
      `web.${zone.suffix}. AAAA`,
    ]);
    expect(await deltaStates(fixture, round)).toEqual(['deleted']);
  });
});
