#![no_main]
//! Model loader: any text gives a valid, usable model or an error.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(m) = gaussmix::GaussianMixture::from_json(&text) {
        let back = gaussmix::GaussianMixture::from_json(&m.to_json()).expect("a loaded model round-trips");
        assert_eq!(back, m);
        let _ = m.score_samples(&m.means());
    }
});
