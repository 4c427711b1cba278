// A datagram link to one server peer. UDP (udp.ts) and DTLS implement it; the CoAP endpoint uses nothing else.

export interface TransportError {
  code: string;
  message: string;
}

/** @firmwareOnly */
export interface Transport {
  /** Sends one datagram to the peer. */
  send(data: Uint8Array): void;
  /** Sets the receiver of every datagram from the peer (one handler; a later call replaces it). */
  onMessage(handler: (data: Uint8Array) => void): void;
  /** Sets the receiver of failures that end the link (socket errors, DTLS alerts). */
  onError?(handler: (error: TransportError) => void): void;
  close(): void;
  /** The largest datagram the link carries now; absent where it has no limit of its own (plain UDP). */
  room?(): number;
}
