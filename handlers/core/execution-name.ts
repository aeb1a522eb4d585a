// The Step Functions execution name of a zone round (docs/design.md §4.4). A round is one receive of a zone's
// deltas from the zone queue; SQS counts receives, so the name `<zone>-<head delta id>-r<receive count>` is new on
// every receive (a redelivery after a failed, timed-out or stopped execution starts a new execution) and the
// planner can find the execution of the previous receive by name, without listing executions.
const MAX_LENGTH = 80;

const safe = (text: string) => text.replace(/^\/?hostedzone\//, '').replace(/[^A-Za-z0-9_-]/g, '_');

export function executionName(hostedZoneId: string, headDeltaId: string, receiveCount: number): string {
  const round = `-r${receiveCount}`;
  const zone = safe(hostedZoneId);
  const room = MAX_LENGTH - zone.length - round.length - 1;
  return `${zone}-${safe(headDeltaId).slice(0, Math.max(8, room))}${round}`.slice(0, MAX_LENGTH);
}
