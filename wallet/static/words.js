// The words for claims and health-code colours: the counter's own (credentials/words.py, served as
// /wallet/words.json), so the citizen reads before showing what the clerk reads after scanning. The service worker
// keeps a copy, so offline the last words fetched are used; without any, claim names and colour codes show as they are.
const NONE = { claims: {}, colours: {}, no_anomaly: "" };
const words = await fetch("/wallet/words.json").then((r) => (r.ok ? r.json() : NONE)).catch(() => NONE);

export const claimLabel = (name) => words.claims[name] || [name, name];  // [zh, en]
export function colourWords(colour) {  // [zh, en]: the words of the counter's colour band
  const w = words.colours[colour];
  return w ? [w.zh, w.en] : [colour, colour];
}
export const NO_ANOMALY = words.no_anomaly;  // the reason of a green code given none
