import fc from 'fast-check';
import {
  findNameConflict,
  NAME_CONFLICT,
  NAME_RULES,
  type NameView,
  type ReadRecordSet,
} from '../../handlers/core/name-conflicts';

const RECORD = 'web.dyn.example.com.';
const REGISTRY = '_r53dyn.web.dyn.example.com.';

const rrset = (Name: string, Type: string, values: string[], extra: Partial<ReadRecordSet> = {}) => ({
  Name,
  Type,
  TTL: 60,
  ResourceRecords: values.map((Value) => ({ Value })),
  ...extra,
});
const alias = (Name: string, Type: string): ReadRecordSet => ({
  Name,
  Type,
  AliasTarget: { DNSName: 'd111111abcdef8.cloudfront.net.' },
});
const ours = {
  a: rrset(RECORD, 'A', ['192.0.2.1']),
  aaaa: rrset(RECORD, 'AAAA', ['2001:db8::1']),
  registry: rrset(REGISTRY, 'TXT', ['"r53dyn=1;o=prod;i=i-0abc;4=192.0.2.1;t=1;s=up"']),
};

// The reasons in full, one builder a rule: what stands at `name`, and why our records cannot stand beside it.
const delegated =
  'has an NS record (a delegation), and records at or below a delegation are not served from this zone';
const cname = (name: string) =>
  `${NAME_CONFLICT}: ${name} has a CNAME record, and Route 53 allows no other record beside a CNAME`;
const delegation = (name: string) => `${NAME_CONFLICT}: ${name} ${delegated}`;
const below = (name: string, delegationName: string) =>
  `${NAME_CONFLICT}: ${name} is below ${delegationName}, which ${delegated}`;
const policy = (name: string, type: string) =>
  `${NAME_CONFLICT}: ${name} has ${type} record sets with a routing policy, and Route 53 allows no simple ${type} record set beside them`;
const aliasOf = (name: string, type: string) =>
  `${NAME_CONFLICT}: ${name} has an alias ${type} record, and Route 53 allows one ${type} record set per name, alias or not`;

const view = (parts: Partial<NameView>): NameView => ({
  record: RECORD,
  registry: REGISTRY,
  atRecord: [],
  atRegistry: [],
  ...parts,
});

describe('findNameConflict', () => {
  it('finds nothing at a new name', () => {
    expect(findNameConflict(view({}))).toBeUndefined();
  });

  it("finds nothing at r53dyn's own simple A, AAAA and registry TXT", () => {
    expect(
      findNameConflict(view({ atRecord: [ours.a, ours.aaaa], atRegistry: [ours.registry] })),
    ).toBeUndefined();
  });

  it('finds nothing in records of other types that Route 53 allows beside ours', () => {
    const atRecord = [
      ours.a,
      rrset(RECORD, 'MX', ['10 mail.example.com.']),
      rrset(RECORD, 'TXT', ['"v=spf1 -all"']),
    ];
    const atRegistry = [
      ours.registry,
      rrset(REGISTRY, 'A', ['192.0.2.9']),
      rrset(REGISTRY, 'CAA', ['0 issue "x"']),
    ];
    expect(findNameConflict(view({ atRecord, atRegistry }))).toBeUndefined();
  });

  it("finds nothing in a neighbour's CNAME, routing policy or delegation", () => {
    const neighbour = 'api.dyn.example.com.';
    const atRecord = [
      ours.a,
      rrset(neighbour, 'CNAME', ['elsewhere.example.net.']),
      rrset(neighbour, 'NS', ['ns1.example.net.']),
    ];
    const atRegistry = [ours.registry, rrset(`_r53dyn.${neighbour}`, 'CNAME', ['elsewhere.example.net.'])];
    const delegations = ['api.dyn.example.com.', 'b.web.dyn.example.com.', 'eb.dyn.example.com.'];
    expect(findNameConflict(view({ atRecord, atRegistry, delegations }))).toBeUndefined();
  });

  describe('at the record name', () => {
    it.each([
      ['a CNAME', [rrset(RECORD, 'CNAME', ['elsewhere.example.net.'])], cname(RECORD)],
      ['an alias CNAME', [alias(RECORD, 'CNAME')], cname(RECORD)],
      [
        'an NS delegation',
        [rrset(RECORD, 'NS', ['ns1.example.net.', 'ns2.example.net.'])],
        delegation(RECORD),
      ],
      [
        'a delegation with a DS beside it',
        [rrset(RECORD, 'DS', ['12345 13 2 ABCDEF']), rrset(RECORD, 'NS', ['ns1.example.net.'])],
        delegation(RECORD),
      ],
      [
        'two A sets (a routing policy read without SetIdentifier)',
        [rrset(RECORD, 'A', ['192.0.2.1']), rrset(RECORD, 'A', ['192.0.2.2'])],
        policy(RECORD, 'A'),
      ],
      [
        'one weighted AAAA set',
        [rrset(RECORD, 'AAAA', ['2001:db8::1'], { SetIdentifier: 'blue' })],
        policy(RECORD, 'AAAA'),
      ],
      ['an alias A', [alias(RECORD, 'A')], aliasOf(RECORD, 'A')],
      [
        'an alias AAAA read without AliasTarget',
        [ours.a, { Name: RECORD, Type: 'AAAA' }],
        aliasOf(RECORD, 'AAAA'),
      ],
    ])('finds %s', (_what, atRecord: ReadRecordSet[], reason) => {
      expect(findNameConflict(view({ atRecord, atRegistry: [ours.registry] }))).toBe(reason);
    });
  });

  describe('at the registry name', () => {
    it.each([
      ['a CNAME', [rrset(REGISTRY, 'CNAME', ['elsewhere.example.net.'])], cname(REGISTRY)],
      ['an NS delegation', [rrset(REGISTRY, 'NS', ['ns1.example.net.'])], delegation(REGISTRY)],
      ['two TXT sets', [ours.registry, rrset(REGISTRY, 'TXT', ['"other"'])], policy(REGISTRY, 'TXT')],
      [
        'one weighted TXT set',
        [rrset(REGISTRY, 'TXT', ['"x"'], { SetIdentifier: 'one' })],
        policy(REGISTRY, 'TXT'),
      ],
      ['an alias TXT', [alias(REGISTRY, 'TXT')], aliasOf(REGISTRY, 'TXT')],
    ])('finds %s', (_what, atRegistry: ReadRecordSet[], reason) => {
      expect(findNameConflict(view({ atRecord: [ours.a], atRegistry }))).toBe(reason);
    });

    it('finds nothing in several sets of a type r53dyn does not write there', () => {
      const atRegistry = [
        ours.registry,
        rrset(REGISTRY, 'A', ['192.0.2.1']),
        rrset(REGISTRY, 'A', ['192.0.2.2']),
      ];
      expect(findNameConflict(view({ atRegistry }))).toBeUndefined();
    });
  });

  describe('above the record', () => {
    it('finds the record below a delegation', () => {
      expect(findNameConflict(view({ atRecord: [ours.a], delegations: ['dyn.example.com.'] }))).toBe(
        below(RECORD, 'dyn.example.com.'),
      );
    });

    it('names the delegation closest to the apex, which delegates all the others', () => {
      const record = 'a.b.web.dyn.example.com.';
      const delegations = ['B.web.dyn.example.com', 'web.dyn.example.com.', 'other.example.com.'];
      expect(findNameConflict(view({ record, registry: `_r53dyn.${record}`, delegations }))).toBe(
        below(record, 'web.dyn.example.com.'),
      );
    });

    it('is checked before what is at the names themselves', () => {
      const atRecord = [rrset(RECORD, 'CNAME', ['elsewhere.example.net.'])];
      expect(findNameConflict(view({ atRecord, delegations: ['dyn.example.com.'] }))).toMatch(
        /^name-conflict: web\.dyn\.example\.com\. is below dyn\.example\.com\., /,
      );
    });
  });

  it('checks the record name before the registry name', () => {
    const atRecord = [alias(RECORD, 'A')];
    const atRegistry = [rrset(REGISTRY, 'CNAME', ['elsewhere.example.net.'])];
    expect(findNameConflict(view({ atRecord, atRegistry }))).toBe(aliasOf(RECORD, 'A'));
  });

  it('compares names without regard to case or the trailing dot', () => {
    const atRegistry = [rrset('_R53DYN.Web.Dyn.Example.Com', 'CNAME', ['elsewhere.example.net.'])];
    expect(findNameConflict(view({ atRegistry }))).toBe(cname(REGISTRY));
  });

  describe('properties', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
    const record = fc
      .array(label, { minLength: 1, maxLength: 3 })
      .map((labels) => `${labels.join('.')}.dyn.example.com.`);
    const values = <T>(value: fc.Arbitrary<T>) => fc.array(value, { minLength: 1, maxLength: 4 });
    const ipv4 = fc.ipV4();
    const ipv6 = fc.ipV6();
    const txt = fc.stringMatching(/^[a-z0-9=;.:-]{0,40}$/).map((text) => `"${text}"`);

    /** A name as r53dyn leaves it: at most one simple A, AAAA and registry TXT, each with values. */
    const ownView = record.chain((name) =>
      fc.record({
        record: fc.constant(name),
        registry: fc.constant(`_r53dyn.${name}`),
        atRecord: fc
          .tuple(fc.option(values(ipv4), { nil: undefined }), fc.option(values(ipv6), { nil: undefined }))
          .map(([a, aaaa]) => [
            ...(a ? [rrset(name, 'A', a)] : []),
            ...(aaaa ? [rrset(name, 'AAAA', aaaa)] : []),
          ]),
        atRegistry: fc
          .option(values(txt), { nil: undefined })
          .map((strings) => (strings ? [rrset(`_r53dyn.${name}`, 'TXT', strings)] : [])),
      }),
    );

    it('a name with only simple A/AAAA at the record and a simple TXT at the registry never conflicts', () => {
      fc.assert(
        fc.property(ownView, (own) => {
          expect(findNameConflict(own)).toBeUndefined();
        }),
      );
    });

    it("a neighbour's records and delegations never make a conflict", () => {
      // a name beside the record or below it, never the record, its registry or one of its ancestors
      const neighbourhood = fc.tuple(
        ownView,
        label,
        fc.boolean(),
        fc.constantFrom('CNAME', 'NS', 'A', 'TXT'),
      );
      fc.assert(
        fc.property(neighbourhood, ([own, neighbourLabel, below, type]) => {
          const neighbour = `${neighbourLabel}.${below ? own.record : 'dyn.example.com.'}`;
          fc.pre(neighbour !== own.record && !own.record.endsWith(`.${neighbour}`));
          const noise = [rrset(neighbour, type, ['192.0.2.7']), rrset(`_r53dyn.${neighbour}`, type, ['"x"'])];
          const crowded = {
            ...own,
            atRecord: [...own.atRecord, ...noise],
            atRegistry: [...own.atRegistry, ...noise],
            delegations: [neighbour],
          };
          expect(findNameConflict(crowded)).toBeUndefined();
        }),
      );
    });
  });
});

describe('NAME_RULES', () => {
  it('lists every rule once, each with its documentation', () => {
    expect(NAME_RULES.map((rule) => [rule.id, rule.route53Refuses])).toEqual([
      ['below-delegation', false],
      ['delegation-at-name', false],
      ['cname-alone', true],
      ['routing-policy', true],
      ['alias', true],
    ]);
    for (const rule of NAME_RULES)
      expect(rule.docUrl).toMatch(/^https:\/\/(docs\.aws\.amazon\.com|www\.rfc-editor\.org)\//);
  });
});
