// The pool's own worker, wrapped for the fault tests: an image whose id contains "HANG" makes
// this worker spin forever (a hung worker, as a runaway model would), so the watchdog must
// replace it. Everything else is the package's worker unchanged.
import "./medtriage/worker.js";

const real = self.onmessage;
self.onmessage = (ev) => {
  if (ev.data?.type === "score" && ev.data.items.some((it) => String(it.id).includes("HANG"))) {
    for (;;) {
      /* hang */
    }
  }
  return real(ev);
};
