export function StatusBadge(props: { registry: string; live?: string }) {
  const status = props.live ?? props.registry;
  const cls = status === 'running' ? 'status-running' : status === 'completed' ? 'status-completed' : status === 'paused' ? 'muted' : 'status-failed';
  return (
    <span class={cls} title={props.live ? `Temporal: ${props.live}; tracker: ${props.registry}` : `tracker: ${props.registry}`}>
      {status}
    </span>
  );
}
