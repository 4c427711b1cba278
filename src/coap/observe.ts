// RFC 7641 section 3.4: is notification (v2, received at t2 ms) newer than the last accepted one (v1 at t1)?
// Observe values are 24-bit sequence numbers that wrap, and after 128 s any value counts as fresh again.
export function isFresher(v1: number, t1: number, v2: number, t2: number): boolean {
  return (v1 < v2 && v2 - v1 < 0x800000) || (v1 > v2 && v1 - v2 > 0x800000) || t2 > t1 + 128000;
}
