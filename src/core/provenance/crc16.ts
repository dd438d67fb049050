/**
 * CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF): the watermark payload's error
 * detection, so that only a payload that came through whole is reported. Bitwise rather than with a
 * table: it runs over 8 bytes per image.
 */
export function crc16(bytes: ArrayLike<number>): number {
  let crc = 0xffff;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= (bytes[i]! & 0xff) << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}
