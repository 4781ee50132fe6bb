#![no_main]
//! NPY reader: any bytes give a matrix of finite numbers or an error.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = gaussmix_cli::read::parse_npy(data) {
        assert_eq!(t.values.len(), t.n * t.d);
        assert!(t.values.iter().all(|v| v.is_finite()));
    }
});
