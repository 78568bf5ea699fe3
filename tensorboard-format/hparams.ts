// HParams plugin summaries: one experiment (columns), session_start_info (this run's values), session_end_info.
// Tags and encoding as TensorBoard's hparams plugin reads them.
import { DT, HParamsPluginDataProto } from './protos.ts';
import { checkTag, pluginMetadata, type SummaryValueObject } from './summary-values.ts';

export type HParamValue = string | number | boolean;

export interface HParamSpec {
  name: string;
  type?: 'string' | 'bool' | 'float';
  displayName?: string;
  description?: string;
  /** Either an interval for floats or the list of allowed values. */
  domain?: { min: number; max: number } | HParamValue[];
}

export interface MetricSpec {
  /** Scalar tag whose last value is the metric. */
  tag: string;
  /** Sub-run holding the scalar ("" = the session's own run). */
  group?: string;
  displayName?: string;
  description?: string;
  datasetType?: 'training' | 'validation';
}

export interface ExperimentSpec {
  hparams: HParamSpec[];
  metrics: MetricSpec[];
  name?: string;
  description?: string;
  user?: string;
  timeCreatedSecs?: number;
}

export type SessionStatus = 'success' | 'failure' | 'running' | 'unknown';

export const HPARAMS_TAGS = {
  experiment: '_hparams_/experiment',
  sessionStart: '_hparams_/session_start_info',
  sessionEnd: '_hparams_/session_end_info',
} as const;

const TYPE_NUMBERS = { string: 1, bool: 2, float: 3 } as const;
const DATASET_NUMBERS = { training: 1, validation: 2 } as const;
const STATUS_NUMBERS = { unknown: 0, success: 1, failure: 2, running: 3 } as const;

/** google.protobuf.Value in protobufjs's camelCase field names (snake_case keys would be dropped silently). */
function protoValue(value: HParamValue, where: string): Record<string, unknown> {
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  throw new Error(`${where}: hparam values must be string, number or boolean, got ${JSON.stringify(value)}`);
}

function typeOf(value: HParamValue): keyof typeof TYPE_NUMBERS {
  return typeof value === 'number' ? 'float' : typeof value === 'boolean' ? 'bool' : 'string';
}

function hparamsValue(tag: string, data: Record<string, unknown>): SummaryValueObject {
  checkTag(tag);
  const message = HParamsPluginDataProto.fromObject({ version: 0, ...data });
  const content = HParamsPluginDataProto.encode(message).finish();
  // TensorBoard's own writer stores a "null" tensor (DT_FLOAT, shape [0]) next to the metadata.
  return {
    tag,
    metadata: pluginMetadata('hparams', content),
    tensor: { dtype: DT.FLOAT, tensor_shape: { dim: [{ size: 0 }] } },
  };
}

export function hparamsExperimentValue(spec: ExperimentSpec): SummaryValueObject {
  if (spec.metrics.length === 0) {
    throw new Error(
      'hparams experiment: list at least one metric (TensorBoard shows no metric columns otherwise)',
    );
  }
  const hparam_infos = spec.hparams.map((h) => {
    if (!h.name) throw new Error('hparams experiment: every hparam needs a name');
    const info: Record<string, unknown> = { name: h.name };
    if (h.displayName) info.display_name = h.displayName;
    if (h.description) info.description = h.description;
    let type = h.type;
    if (Array.isArray(h.domain)) {
      if (h.domain.length === 0) throw new Error(`hparam "${h.name}": discrete domain must not be empty`);
      type ??= typeOf(h.domain[0]);
      info.domain_discrete = { values: h.domain.map((v) => protoValue(v, `hparam "${h.name}" domain`)) };
    } else if (h.domain) {
      if (!(h.domain.min <= h.domain.max)) {
        throw new Error(`hparam "${h.name}": interval min ${h.domain.min} must be <= max ${h.domain.max}`);
      }
      type ??= 'float';
      info.domain_interval = { min_value: h.domain.min, max_value: h.domain.max };
    }
    if (type) info.type = TYPE_NUMBERS[type];
    return info;
  });
  const metric_infos = spec.metrics.map((m) => {
    checkTag(m.tag);
    const info: Record<string, unknown> = { name: { group: m.group ?? '', tag: m.tag } };
    if (m.displayName) info.display_name = m.displayName;
    if (m.description) info.description = m.description;
    if (m.datasetType) info.dataset_type = DATASET_NUMBERS[m.datasetType];
    return info;
  });
  return hparamsValue(HPARAMS_TAGS.experiment, {
    experiment: {
      name: spec.name ?? '',
      description: spec.description ?? '',
      user: spec.user ?? '',
      time_created_secs: spec.timeCreatedSecs ?? Date.now() / 1000,
      hparam_infos,
      metric_infos,
    },
  });
}

export interface SessionStartOptions {
  /** Runs with the same group name are averaged into one row; empty = this run is its own group. */
  groupName?: string;
  startTimeSecs?: number;
  modelUri?: string;
}

export function hparamsSessionStartValue(
  values: Record<string, HParamValue>,
  options: SessionStartOptions = {},
): SummaryValueObject {
  const hparams: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) hparams[name] = protoValue(value, `hparam "${name}"`);
  return hparamsValue(HPARAMS_TAGS.sessionStart, {
    session_start_info: {
      hparams,
      group_name: options.groupName ?? '',
      model_uri: options.modelUri ?? '',
      start_time_secs: options.startTimeSecs ?? Date.now() / 1000,
    },
  });
}

export function hparamsSessionEndValue(
  status: SessionStatus,
  endTimeSecs = Date.now() / 1000,
): SummaryValueObject {
  if (!(status in STATUS_NUMBERS)) {
    throw new Error(
      `hparams session end: status must be one of ${Object.keys(STATUS_NUMBERS).join(', ')}, got ${status}`,
    );
  }
  return hparamsValue(HPARAMS_TAGS.sessionEnd, {
    session_end_info: { status: STATUS_NUMBERS[status], end_time_secs: endTimeSecs },
  });
}
