/**
 * Why an admin operation refused, before it wrote anything. `code` is stable
 * (the CLI prints the message; the management API will answer it in Ghost's
 * envelope): NOT_FOUND for an unknown id, INVALID for input that cannot be used.
 */
export class AdminError extends Error {
  override name = 'AdminError';
  constructor(
    readonly code: 'NOT_FOUND' | 'INVALID',
    message: string,
  ) {
    super(message);
  }
}
