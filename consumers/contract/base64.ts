/**
 * Strict base64 for blobs that arrive as text (Kinesis records in Lambda events and MultiLang lines, blob
 * members of the AWS JSON protocols). Node's decoder skips characters outside the alphabet and also takes
 * the URL-safe one, so text that is not base64 would be accepted as bytes nobody wrote.
 */

/**
 * The bytes of canonical, padded, standard-alphabet base64, or undefined for anything else. Checked after
 * decoding: such a string decodes to exactly three bytes per four characters less its padding, and a
 * regular expression over the text costs ~30× the decode on large blobs.
 */
export function decodeStrictBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || text.includes('-') || text.includes('_')) return undefined;
  const bytes = Buffer.from(text, 'base64');
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return bytes.length === (text.length / 4) * 3 - padding ? bytes : undefined;
}
