// The CoAP stack's public API, bundled as dist/lib/coap.cjs for host tools and tests.
export { Type, Code, Opt, ContentFormat, CoapError, codeString } from "../coap/message";
export type { CoapMessage, CoapOption } from "../coap/message";
export {
  CoapDecodeError, encodeMessage, decodeMessage, createMessage, EMPTY, uintValue, readUint, stringValue, readString, optionBytes, getOption,
  getOptions, addOption, setOption, blockValue, readBlock,
} from "../coap/codec";
export type { Block, OptionValue } from "../coap/codec";
export { parseUri, pathOptions, uriOptions, formatUri } from "../coap/uri";
export type { CoapUri } from "../coap/uri";
export { createEndpoint } from "../coap/endpoint";
export type { Endpoint, EndpointOptions, CoapRequest, Observation, ResponseCallback } from "../coap/endpoint";
export { isFresher } from "../coap/observe";
export { createUdpTransport } from "../transport/udp";
export type { UdpTransportOptions } from "../transport/udp";
export type { Transport, TransportError } from "../transport/types";
