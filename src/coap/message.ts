// CoAP message model and the registered numbers of RFC 7252, 7641, 7959 and 7967: the one place they are named, for
// the firmware and the host. They are const enums, so the firmware inlines each number it uses (no table ships);
// the library bundle keeps them as objects (preserveConstEnums) for host code.

export interface CoapOption {
  number: number;
  value: Uint8Array;
}

/**
 * One CoAP message. `options` are in ascending `number` order; repeated options keep their order.
 * @firmwareOnly
 */
export interface CoapMessage {
  type: number;
  code: number;
  messageId: number;
  token: Uint8Array;
  options: CoapOption[];
  payload: Uint8Array;
}

/** The error every failure of the stack reports: `code` is a short machine-readable word, `message` says what. */
export class CoapError {
  constructor(public code: string, public message: string) {}
}

/** Message types (RFC 7252 section 3). */
export const enum Type { CON = 0, NON = 1, ACK = 2, RST = 3 }

/** Method and response codes, class << 5 | detail (RFC 7252 section 12.1, RFC 7959, RFC 8132). */
export const enum Code {
  EMPTY = 0,
  GET = 1, POST = 2, PUT = 3, DELETE = 4, FETCH = 5, PATCH = 6, IPATCH = 7,
  CREATED = 0x41, DELETED = 0x42, VALID = 0x43, CHANGED = 0x44, CONTENT = 0x45, CONTINUE = 0x5f,
  BAD_REQUEST = 0x80, UNAUTHORIZED = 0x81, BAD_OPTION = 0x82, FORBIDDEN = 0x83, NOT_FOUND = 0x84,
  METHOD_NOT_ALLOWED = 0x85, NOT_ACCEPTABLE = 0x86, REQUEST_ENTITY_INCOMPLETE = 0x88, CONFLICT = 0x89,
  PRECONDITION_FAILED = 0x8c, REQUEST_ENTITY_TOO_LARGE = 0x8d, UNSUPPORTED_CONTENT_FORMAT = 0x8f,
  INTERNAL_SERVER_ERROR = 0xa0, NOT_IMPLEMENTED = 0xa1, BAD_GATEWAY = 0xa2, SERVICE_UNAVAILABLE = 0xa3,
  GATEWAY_TIMEOUT = 0xa4, PROXYING_NOT_SUPPORTED = 0xa5,
}

/** Option numbers (RFC 7252 section 12.2, RFC 7641, RFC 7959, RFC 7967). */
export const enum Opt {
  IF_MATCH = 1, URI_HOST = 3, ETAG = 4, IF_NONE_MATCH = 5, OBSERVE = 6, URI_PORT = 7, LOCATION_PATH = 8, URI_PATH = 11,
  CONTENT_FORMAT = 12, MAX_AGE = 14, URI_QUERY = 15, ACCEPT = 17, LOCATION_QUERY = 20, BLOCK2 = 23, BLOCK1 = 27, SIZE2 = 28,
  PROXY_URI = 35, PROXY_SCHEME = 39, SIZE1 = 60, NO_RESPONSE = 258,
}

/** Content-Format numbers (RFC 7252 section 12.3). */
export const enum ContentFormat { TEXT = 0, LINK = 40, XML = 41, OCTET = 42, EXI = 47, JSON = 50, CBOR = 60 }

/** "2.05" for 0x45: the class and detail form the RFCs and logs use. */
export function codeString(code: number): string {
  const d = code & 31;
  return (code >> 5) + (d < 10 ? ".0" : ".") + d;
}
