/** An error with the HTTP status the API answers with; the message names the input and the fix. */
export class TrackerError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 409 | 413 | 500 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'TrackerError';
  }
}
