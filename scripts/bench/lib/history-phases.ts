// Where a workflow's wall time went, read from its Temporal history: each activity type's time from schedule to close,
// and the rest (workflow tasks between activities, the start and the end). Queue and run time are not told apart: an
// activity with a retry policy gets its started event written only when it closes, with that time.
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface ActivityPhase {
  type: string;
  count: number;
  /** Summed over the activities of this type, in seconds. */
  running: number;
  queued: number;
}

export interface HistoryPhases {
  total: number;
  activities: ActivityPhase[];
  /** Everything outside activities: workflow tasks, the gaps between one activity's end and the next's schedule. */
  between: number;
}

const seconds = (event: HistoryEvent): number => {
  const time = event.eventTime!;
  return Number(time.seconds ?? 0) + (time.nanos ?? 0) / 1e9;
};

export function historyPhases(events: HistoryEvent[]): HistoryPhases {
  const scheduled = new Map<string, { type: string; at: number }>();
  const started = new Map<string, number>();
  const byType = new Map<string, ActivityPhase>();
  let busy = 0;
  for (const event of events) {
    const id = String(event.eventId);
    if (event.activityTaskScheduledEventAttributes) {
      scheduled.set(id, { type: event.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at: seconds(event) });
    }
    if (event.activityTaskStartedEventAttributes) started.set(String(event.activityTaskStartedEventAttributes.scheduledEventId), seconds(event));
    const closed = event.activityTaskCompletedEventAttributes ?? event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    if (closed) {
      const key = String(closed.scheduledEventId);
      const schedule = scheduled.get(key)!;
      const start = started.get(key) ?? schedule.at;
      const phase = byType.get(schedule.type) ?? { type: schedule.type, count: 0, running: 0, queued: 0 };
      phase.count++;
      phase.running += seconds(event) - start;
      phase.queued += start - schedule.at;
      byType.set(schedule.type, phase);
      busy += seconds(event) - schedule.at;
    }
  }
  const total = seconds(events.at(-1)!) - seconds(events[0]!);
  return { total, activities: [...byType.values()], between: total - busy };
}

export function describePhases(phases: HistoryPhases): string[] {
  const lines = phases.activities.map(
    (a) => `  ${a.type.padEnd(18)}${a.count} x, ${(a.running + a.queued).toFixed(2)} s from schedule to close`,
  );
  lines.push(`  ${'workflow tasks'.padEnd(18)}${phases.between.toFixed(2)} s (start, end and between activities)`);
  return lines;
}
