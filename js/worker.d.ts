// The pool's worker script (a module worker); import it from a worker of your own to wrap it.
export {};
