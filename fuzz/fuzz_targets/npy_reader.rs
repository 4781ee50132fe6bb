#![no_main]
//! NPY reader: any bytes give a matrix of finite numbers or an error.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = gaussmix_io::parse_npy(data, "fuzz") {
        assert_eq!(t.values().len(), t.n_rows() * t.n_cols());
        assert!(t.values().iter().all(|v| v.is_finite()));
    }
    // The chunked reader: any chunk size, f64 and f32, never more rows than fit.
    if let Ok(mut r) = gaussmix_io::NpyReader::new(std::io::Cursor::new(data), "fuzz") {
        use gaussmix_io::ChunkSource;
        let rows = 1 + data.len() % 5;
        let d = r.n_features();
        let (mut b64, mut b32) = (vec![0.0; rows * d], vec![0.0f32; rows * d]);
        for i in 0.. {
            let got = if i % 2 == 0 { r.next_chunk(&mut b64) } else { r.next_chunk_f32(&mut b32) };
            match got {
                Ok(0) | Err(_) => break,
                Ok(n) => assert!(n <= rows),
            }
        }
    }
});
