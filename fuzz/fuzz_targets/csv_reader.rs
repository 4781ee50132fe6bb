#![no_main]
//! CSV/TSV reader: any bytes give a table of finite numbers or an error.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for d in [',', '\t', ' '] {
            if let Ok(t) = gaussmix_io::parse_text(text, d, "fuzz") {
                assert_eq!(t.values().len(), t.n_rows() * t.n_cols());
                assert!(t.values().iter().all(|v| v.is_finite()));
            }
        }
    }
});
