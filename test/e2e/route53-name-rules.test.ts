// Route 53's per-name rules on ChangeResourceRecordSets, as infra/local/hooks/route53-name-rules.py makes
// LocalStack enforce them (docs/route53-name-rules.md): each offending batch is refused whole with Route 53's
// error code and text, leaving the zone as it was, and the batches r53dyn and its neighbours write still pass.
import {
  type Change,
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { route53 } from '../helpers/localstack';
import { recordSets } from '../helpers/workflow';

jest.setTimeout(60_000);

const run = `r${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const zoneName = `names-${run}.example.test.`;
let zoneId: string;

beforeAll(async () => {
  const zone = await route53.send(new CreateHostedZoneCommand({ Name: zoneName, CallerReference: run }));
  zoneId = (zone.HostedZone?.Id ?? '').replace('/hostedzone/', '');
});

const fqdn = (label: string) => `${label}.${zoneName}`;
const simple = (label: string, Type: ResourceRecordSet['Type'], values: string[]): ResourceRecordSet => ({
  Name: fqdn(label),
  Type,
  TTL: 60,
  ResourceRecords: values.map((Value) => ({ Value })),
});
const weighted = (label: string, Type: ResourceRecordSet['Type'], value: string, SetIdentifier: string) => ({
  ...simple(label, Type, [value]),
  SetIdentifier,
  Weight: 10,
});
const create = (rrset: ResourceRecordSet): Change => ({ Action: 'CREATE', ResourceRecordSet: rrset });
const remove = (rrset: ResourceRecordSet): Change => ({ Action: 'DELETE', ResourceRecordSet: rrset });
const upsert = (rrset: ResourceRecordSet): Change => ({ Action: 'UPSERT', ResourceRecordSet: rrset });

const apply = (changes: Change[]) =>
  route53.send(
    new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes } }),
  );

/** In the order recordSets lists them. */
const inListOrder = (rrsets: ResourceRecordSet[]) =>
  [...rrsets].sort((a, b) => `${a.Name} ${a.Type}`.localeCompare(`${b.Name} ${b.Type}`));
const zoneAt = async (rrsets: ResourceRecordSet[]) => {
  const names = new Set(rrsets.map((rrset) => rrset.Name));
  return (await recordSets(zoneId)).filter((rrset) => names.has(rrset.Name));
};

const cname = (label: string) => simple(label, 'CNAME', ['elsewhere.example.net.']);
const registry = (label: string, text = '"r53dyn=1;o=r53dyn-local;i=i-0abc;4=192.0.2.1;t=1;s=up"') =>
  simple(`_r53dyn.${label}`, 'TXT', [text]);

describe('a batch that breaks a per-name rule', () => {
  it.each([
    [
      'a TXT at a registry name that holds a CNAME',
      [create(cname('_r53dyn.web1'))],
      [create(registry('web1'))],
      `[RRSet of type TXT with DNS name ${fqdn('_r53dyn.web1')} is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone ${zoneName}]`,
    ],
    [
      'an A at a record name that holds a CNAME',
      [create(cname('web2'))],
      [create(simple('web2', 'A', ['192.0.2.2']))],
      `[RRSet of type A with DNS name ${fqdn('web2')} is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone ${zoneName}]`,
    ],
    [
      'a CNAME at a record name that holds an A',
      [create(simple('web3', 'A', ['192.0.2.3']))],
      [create(cname('web3'))],
      `[RRSet of type CNAME with DNS name ${fqdn('web3')} is not permitted as it conflicts with other records with the same DNS name in zone ${zoneName}]`,
    ],
    [
      "a CNAME at a registry name that holds r53dyn's TXT",
      [create(registry('web4'))],
      [create(cname('_r53dyn.web4'))],
      `[RRSet of type CNAME with DNS name ${fqdn('_r53dyn.web4')} is not permitted as it conflicts with other records with the same DNS name in zone ${zoneName}]`,
    ],
    [
      'an UPSERT of a CNAME over a name that holds an A',
      [create(simple('web5', 'A', ['192.0.2.5']))],
      [upsert(cname('web5'))],
      `[RRSet of type CNAME with DNS name ${fqdn('web5')} is not permitted as it conflicts with other records with the same DNS name in zone ${zoneName}]`,
    ],
    [
      'an A after a CNAME at one name in one batch (checked against the zone as the batch leaves it)',
      [],
      [create(cname('web6')), create(simple('web6', 'A', ['192.0.2.6']))],
      `[RRSet of type A with DNS name ${fqdn('web6')} is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists in zone ${zoneName}]`,
    ],
    [
      'a simple A beside weighted A sets',
      [
        create(weighted('web7', 'A', '192.0.2.7', 'blue')),
        create(weighted('web7', 'A', '192.0.2.70', 'green')),
      ],
      [create(simple('web7', 'A', ['192.0.2.71']))],
      `[RRSet with DNS name ${fqdn('web7')}, type A cannot be created as other RRSets exist with the same name and type.]`,
    ],
    [
      'a weighted TXT beside a simple TXT at a registry name',
      [create(registry('web8'))],
      [create(weighted('_r53dyn.web8', 'TXT', '"x"', 'one'))],
      `[RRSet with DNS name ${fqdn('_r53dyn.web8')}, type TXT, SetIdentifier one cannot be created as a non-weighted set exists with the same name and type.]`,
    ],
  ])('refuses %s, and leaves the zone unchanged', async (_what, seed, offending, message) => {
    // Arrange
    if (seed.length > 0) await apply(seed);
    const before = await recordSets(zoneId);

    // Act
    const refused = apply(offending);

    // Assert
    await expect(refused).rejects.toMatchObject({ name: 'InvalidChangeBatch', message });
    expect(await recordSets(zoneId)).toEqual(before);
  });
});

describe('a batch that keeps to the per-name rules', () => {
  it("passes for r53dyn's first write and its compare-and-swap rewrite", async () => {
    // Arrange
    const first = [
      simple('cas', 'A', ['192.0.2.10']),
      simple('cas', 'AAAA', ['2001:db8::10']),
      registry('cas', '"first"'),
    ];
    const second = [simple('cas', 'A', ['192.0.2.10', '192.0.2.11']), registry('cas', '"second"')];

    // Act
    await apply(first.map(create));
    await apply([remove(first[0] as ResourceRecordSet), create(second[0] as ResourceRecordSet)]);
    await apply([remove(first[2] as ResourceRecordSet), create(second[1] as ResourceRecordSet)]);

    // Assert
    expect(await zoneAt(first)).toEqual(inListOrder([second[0], first[1], second[1]] as ResourceRecordSet[]));
  });

  it('passes for records Route 53 allows beside the A, AAAA and registry TXT', async () => {
    // Arrange
    const rrsets = [
      simple('mixed', 'A', ['192.0.2.20']),
      simple('mixed', 'MX', ['10 mail.example.net.']),
      simple('mixed', 'TXT', ['"v=spf1 -all"']),
      registry('mixed'),
      simple('_r53dyn.mixed', 'A', ['192.0.2.21']),
      cname('neighbour'),
      cname('_r53dyn.neighbour'),
    ];

    // Act
    await apply(rrsets.map(create));

    // Assert
    expect(await zoneAt(rrsets)).toEqual(inListOrder(rrsets));
  });

  it('passes when a CNAME is deleted and an A created at its name in one batch', async () => {
    // Arrange
    await apply([create(cname('swap'))]);

    // Act
    await apply([remove(cname('swap')), create(simple('swap', 'A', ['192.0.2.30']))]);

    // Assert
    expect((await recordSets(zoneId)).filter((rrset) => rrset.Name === fqdn('swap'))).toEqual([
      simple('swap', 'A', ['192.0.2.30']),
    ]);
  });

  it('passes for weighted sets of one name and type side by side', async () => {
    // Act
    await apply([
      create(weighted('split', 'A', '192.0.2.40', 'blue')),
      create(weighted('split', 'A', '192.0.2.41', 'green')),
    ]);

    // Assert
    const split = (await recordSets(zoneId)).filter((rrset) => rrset.Name === fqdn('split'));
    expect(split.map((rrset) => [rrset.SetIdentifier, rrset.ResourceRecords]).sort()).toEqual([
      ['blue', [{ Value: '192.0.2.40' }]],
      ['green', [{ Value: '192.0.2.41' }]],
    ]);
  });

  it('lets through records at and below an NS delegation, which Route 53 is not known to refuse', async () => {
    // Arrange
    const delegation = simple('sub', 'NS', ['ns1.example.net.', 'ns2.example.net.']);
    const rrsets = [
      simple('sub', 'A', ['192.0.2.50']),
      simple('web.sub', 'A', ['192.0.2.51']),
      registry('web.sub'),
    ];

    // Act
    await apply([create(delegation), ...rrsets.map(create)]);

    // Assert
    expect(await zoneAt([delegation, ...rrsets])).toEqual(inListOrder([delegation, ...rrsets]));
  });
});
