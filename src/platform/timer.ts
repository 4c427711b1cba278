// Timer handles on Espruino: clearTimeout(undefined) throws ("clearTimeout(undefined) not allowed") and a handle's
// number is reused by a later timer once its own has run. So a handle is dropped when its timer runs, and only
// live handles are cleared.

export function clearTimer(timer?: number): void {
  if (timer !== undefined) clearTimeout(timer);
}
