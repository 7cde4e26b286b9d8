/** A denial with one profile code (CONTRACT.md §10). */
export class DenialError extends Error {
  constructor(code, reason) {
    super(reason ?? code);
    this.code = code;
  }
}
