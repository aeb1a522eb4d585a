// What Route 53 holds for one record (docs/design.md §3.3): its rrsets, its registry decoded, and whether this
// stack may write it; and when a registration is too old to apply.
import { reasonCode, TOMBSTONE_MS } from '../../handlers/core/contract';
import type { RecordSet } from '../../handlers/core/model';
import {
  delegationsOf,
  indexZone,
  readRecordState,
  settleEntries,
  staleReason,
} from '../../handlers/core/record-state';
import { encodeOwnerEntry, registryName } from '../../handlers/core/registry';
import {
  deregisterOf,
  dynZone,
  fqdn,
  goneEntry,
  heartbeatOf,
  instanceGoneOf,
  machine,
  NOW,
  OTHER_OWNER,
  OWNER,
  registerOf,
  rrset,
  SENT,
  upEntry,
} from '../helpers/messages';

const WEB = fqdn('web');
const REGISTRY = registryName(WEB);
const m1 = machine(1);
const read = (rrsets: RecordSet[], delegations?: Set<string>) =>
  readRecordState(WEB, dynZone, indexZone(rrsets), OWNER, delegations);
const foreignEntry = `"r53dyn=1;o=${OTHER_OWNER};i=i-0000000f;4=192.0.2.15;t=1;s=up"`;

describe('readRecordState', () => {
  it('treats a name with no A, AAAA or registry as a new record of ours', () => {
    expect(read([])).toEqual({ name: WEB, zone: dynZone, current: {}, entries: [], foreign: [] });
  });

  it('picks the A, AAAA and registry TXT of the name among unrelated rrsets, whatever their case', () => {
    const a = rrset('WEB.dyn.example.test.', 'A', [m1.ipv4]);
    const aaaa = rrset(WEB, 'AAAA', [m1.ipv6]);
    const txt = rrset(REGISTRY, 'TXT', [foreignEntry, encodeOwnerEntry(OWNER, upEntry(m1, SENT))]);
    const unrelated = [
      rrset(fqdn('api'), 'A', ['192.0.2.9']),
      rrset(registryName(fqdn('api')), 'TXT', ['"x"']),
      rrset(WEB, 'TXT', ['"not the registry"']),
      rrset(WEB, 'MX', ['10 mail.example.test.']),
    ];

    expect(read([...unrelated, txt, aaaa, a])).toEqual({
      name: WEB,
      zone: dynZone,
      current: { a, aaaa, registry: txt },
      entries: [upEntry(m1, SENT)],
      foreign: [foreignEntry],
    });
  });

  it.each([
    [
      'an A record made by hand',
      [rrset(WEB, 'A', ['192.0.2.1'])],
      `not-managed: ${WEB} has an A record and no r53dyn registry`,
    ],
    [
      'A and AAAA records made by hand',
      [rrset(WEB, 'AAAA', ['2001:db8::1']), rrset(WEB, 'A', ['192.0.2.1'])],
      `not-managed: ${WEB} has A and AAAA records and no r53dyn registry`,
    ],
    [
      "an A record with another stack's registry",
      [rrset(WEB, 'A', ['192.0.2.1']), rrset(REGISTRY, 'TXT', [foreignEntry])],
      `not-managed: ${WEB} has an A record and no r53dyn entry of owner ${OWNER}`,
    ],
    [
      "only another stack's registry",
      [rrset(REGISTRY, 'TXT', [foreignEntry])],
      `not-managed: ${REGISTRY} has no entry of owner ${OWNER}`,
    ],
  ])('refuses a name with %s', (_, rrsets, refusal) => {
    expect(read(rrsets).refusal).toBe(refusal);
  });

  it.each([
    [
      'a CNAME, even beside our registry',
      [
        rrset(WEB, 'CNAME', ['elsewhere.example.test.']),
        rrset(REGISTRY, 'TXT', [encodeOwnerEntry(OWNER, goneEntry(m1, SENT))]),
      ],
    ],
    ['an alias A record', [{ Name: WEB, Type: 'A', AliasTarget: { DNSName: 'lb.example.test.' } }]],
    ['weighted A records', [{ ...rrset(WEB, 'A', ['192.0.2.1']), SetIdentifier: 'one' }]],
  ])('refuses a name Route 53 would not let r53dyn write beside %s (name-conflict)', (_, rrsets) => {
    expect(reasonCode(read(rrsets).refusal ?? '')).toBe('name-conflict');
  });

  it('refuses a record below a delegation, known from a whole-zone read', () => {
    const index = indexZone([
      rrset(fqdn('sub'), 'NS', ['ns1.example.test.']),
      rrset(`${dynZone.suffix}.`, 'NS', ['ns.example.test.']),
    ]);
    const below = fqdn('web.sub');

    expect([...delegationsOf(index, dynZone)]).toEqual([fqdn('sub')]);
    expect(
      reasonCode(readRecordState(below, dynZone, index, OWNER, delegationsOf(index, dynZone)).refusal ?? ''),
    ).toBe('name-conflict');
    expect(
      readRecordState(WEB, dynZone, index, OWNER, delegationsOf(index, dynZone)).refusal,
    ).toBeUndefined();
  });
});

describe('settleEntries', () => {
  it('keeps everything in a zone without leases, dropping only tombstones past the horizon', () => {
    const entries = [
      upEntry(m1, SENT - 2 * TOMBSTONE_MS),
      goneEntry(machine(2), NOW - TOMBSTONE_MS),
      goneEntry(machine(3), NOW - TOMBSTONE_MS - 1),
    ];

    expect(settleEntries(entries, dynZone, NOW)).toEqual(entries.slice(0, 2));
  });
});

describe('staleReason', () => {
  it('dead-letters a register or heartbeat sent more than an hour before it could be applied', () => {
    const at = NOW - TOMBSTONE_MS - 1;

    expect(staleReason(registerOf(m1, 'web', at), NOW)).toBe(
      `stale: register sent at ${new Date(at).toISOString()}, more than an hour before it could be applied`,
    );
    expect(staleReason(heartbeatOf(m1, 'web', at), NOW)).toBe(
      `stale: heartbeat sent at ${new Date(at).toISOString()}, more than an hour before it could be applied`,
    );
  });

  it('accepts one sent exactly an hour before, and never dead-letters a deregistration or an event', () => {
    expect(staleReason(registerOf(m1, 'web', NOW - TOMBSTONE_MS), NOW)).toBeUndefined();
    expect(staleReason(deregisterOf(m1, 'web', NOW - 5 * TOMBSTONE_MS), NOW)).toBeUndefined();
    expect(staleReason(instanceGoneOf(m1, NOW - 5 * TOMBSTONE_MS), NOW)).toBeUndefined();
  });
});
