//! Table parsing (the CLI's `.npy` and `.csv` readers, from bytes): any bytes must give a
//! table whose shape matches its values, or a typed error.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "../../src/bin/medtriage/io.rs"]
#[allow(dead_code)]
mod io;

fuzz_target!(|data: &[u8]| {
    if let Ok((shape, values)) = io::npy_from_bytes(std::path::Path::new("fuzz.npy"), data) {
        let n: u64 = shape.iter().product();
        assert_eq!(n as usize, values.len());
    }
    if let Ok((shape, values)) = io::csv_from_bytes(std::path::Path::new("fuzz.csv"), data) {
        assert_eq!((shape[0] * shape[1]) as usize, values.len());
    }
});
