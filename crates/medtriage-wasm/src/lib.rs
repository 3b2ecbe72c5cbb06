//! The wasm module of the medtriage npm package.
//!
//! Everything the module exports is defined by medtriage's wasm binding (`src/wasm/` of the
//! medtriage crate, compiled only for `wasm32`): the `#[wasm_bindgen]` items there are
//! `#[no_mangle]` symbols, which a cdylib exports from every crate it links. This crate only
//! makes sure the medtriage rlib is linked, so that a release build with LTO optimizes tract,
//! the engine and the binding as one program.

#[doc(hidden)]
pub use medtriage as _linked;
