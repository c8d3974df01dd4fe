/** Bad calibration input: the message names the file, the line and the field; the CLI exits 2 and writes nothing. */
export class CalibrationInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CalibrationInputError";
  }
}

/** `file:line: field: "value" is not allowed; expected …`, the shape every calibrate error takes. */
export function inputProblem(file: string, line: number | undefined, field: string, value: string, expected: string): CalibrationInputError {
  const where = line === undefined ? file : `${file}:${line}`;
  return new CalibrationInputError(`${where}: ${field}: ${JSON.stringify(value)} is not allowed; expected ${expected}`);
}
