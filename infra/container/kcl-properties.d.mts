export function parseProperties(text: string): Map<string, string>;
export function renderProperties(
  templateText: string,
  env: Readonly<Record<string, string | undefined>>,
  executableName: string,
): string;
export function initialPositionProperties(
  env: Readonly<Record<string, string | undefined>>,
): { initialPositionInStream: string } | { initialPositionInStreamExtended: string };
