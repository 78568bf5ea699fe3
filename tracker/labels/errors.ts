// The label store's refusals: the message names the input and the fix, the status is what the HTTP routes answer.
export class LabelStoreError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 403 | 404 | 409 | 413 | 422 = 400,
  ) {
    super(message);
    this.name = 'LabelStoreError';
  }
}
