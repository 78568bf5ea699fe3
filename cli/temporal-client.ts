// The CLI's Temporal client: commands start, follow and signal workflows through it.
import { Client, Connection } from '@temporalio/client';
import type { Settings } from '../config/settings.ts';

export async function connectClient(settings: Settings): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: settings.temporal.address, connectTimeout: 5_000 });
  } catch (error) {
    throw new Error(
      `cannot reach Temporal at ${settings.temporal.address}: ${(error as Error).message}. Run \`patchwork up\` or set TEMPORAL_ADDRESS.`,
    );
  }
  return new Client({ connection, namespace: settings.temporal.namespace });
}
