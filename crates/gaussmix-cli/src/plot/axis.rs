//! Axis ranges and tick labels.

/// A padded axis range around values spanning `lo..=hi`, with a sensible width when
/// they do not span anything: a constant feature at `v` gets `v ± max(1, |v|/10)`
/// rather than the ±0.002 a regularised variance would suggest.
pub fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if !(lo.is_finite() && hi.is_finite() && (hi - lo).is_finite()) || hi < lo {
        // Callers refuse spans this wide first ([`MAX_SPAN`]); this only keeps the
        // arithmetic finite.
        return (0.0, 1.0);
    }
    let scale = lo.abs().max(hi.abs());
    // Constant, or a spread below what f64 resolves at that magnitude (ticks could not
    // tell the values apart); timestamps at 1.7e15 spread over 1e6 are not constant.
    if hi - lo <= 1e-13 * scale || hi == lo {
        let half = (scale / 10.0).max(1.0);
        let mid = 0.5 * (lo + hi);
        return (mid - half, mid + half);
    }
    let span = hi - lo;
    (lo - 0.05 * span, hi + 0.05 * span)
}

/// Widest range a figure draws: beyond it, distances between ticks overflow.
pub const MAX_SPAN: f64 = 1e150;

/// The offset that tick labels are written relative to, when the axis sits so far
/// from zero that plain labels would run to a dozen digits (1e9 ± 5 reads `-4 … 4`
/// with the axis titled `x − 1e9`): the range's middle rounded to the span's order of
/// magnitude.
pub fn offset(lo: f64, hi: f64) -> Option<f64> {
    let span = hi - lo;
    let scale = lo.abs().max(hi.abs());
    if !(span > 0.0 && span.is_finite()) || scale / span < 1e4 {
        return None;
    }
    let unit = 10f64.powf(span.log10().ceil());
    let mid = 0.5 * (lo + hi);
    let off = (mid / unit).round() * unit;
    (off != 0.0 && off.is_finite()).then_some(off)
}

/// `name − 1e9` for an axis labelled relative to `off`.
pub fn with_offset(name: &str, off: Option<f64>) -> String {
    match off {
        Some(o) if o < 0.0 => format!("{name} + {}", short(-o)),
        Some(o) => format!("{name} − {}", short(o)),
        None => name.to_string(),
    }
}

/// A number in as few characters as keep it exact to 12 digits.
fn short(v: f64) -> String {
    let s = format!("{:.12e}", v);
    let t = trim_exponent(&s);
    let plain = format!("{v}");
    if plain.len() <= t.len() {
        plain
    } else {
        t
    }
}

/// The smallest and largest of `values` (non-finite ones skipped), or `None`.
pub fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    let mut r: Option<(f64, f64)> = None;
    for v in values.into_iter().filter(|v| v.is_finite()) {
        r = Some(match r {
            None => (v, v),
            Some((a, b)) => (a.min(v), b.max(v)),
        });
    }
    r
}

/// A tick label for `v` on an axis showing `lo..hi`: as few decimals as the axis
/// needs (`2`, not `2.0`; `0.25` where ticks are that fine), scientific notation for
/// very large or very small magnitudes.
pub fn tick(v: f64, lo: f64, hi: f64) -> String {
    let span = (hi - lo).abs();
    let scale = lo.abs().max(hi.abs());
    if v == 0.0 || (span > 0.0 && v.abs() < span * 1e-9) {
        return "0".into();
    }
    if !(1e-3..1e6).contains(&scale) {
        // Scientific, with the digits the span calls for.
        let exp = v.abs().log10().floor();
        let digits = ((exp - (span / 10.0).log10().floor()).max(0.0) as usize).min(8);
        let s = format!("{:.*e}", digits, v);
        return trim_exponent(&s);
    }
    // Fixed: the fewest decimals that show this tick to within a thousandth of the span.
    let tol = span.max(f64::MIN_POSITIVE) * 1e-3;
    for dec in 0..=10 {
        let p = 10f64.powi(dec);
        if ((v * p).round() / p - v).abs() <= tol {
            return format!("{:.*}", dec as usize, v);
        }
    }
    format!("{v}")
}

/// `1.50e3` → `1.5e3`, `2.00e0` → `2e0`.
fn trim_exponent(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => {
            let m = m.trim_end_matches('0').trim_end_matches('.');
            format!("{m}e{e}")
        }
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_have_no_spurious_decimals() {
        assert_eq!(tick(2.0, 0.0, 10.0), "2");
        assert_eq!(tick(4.000000000001, 0.0, 10.0), "4");
        assert_eq!(tick(0.25, 0.0, 1.0), "0.25");
        assert_eq!(tick(-1.5, -3.0, 3.0), "-1.5");
        assert_eq!(tick(1e-17, -1.0, 1.0), "0");
        assert_eq!(tick(2_000_000.0, 0.0, 5e6), "2e6");
        assert_eq!(tick(2.5e-4, 0.0, 5e-4), "2.5e-4");
        assert_eq!(tick(150.0, 100.0, 200.0), "150");
    }

    #[test]
    fn far_from_zero_axes_are_labelled_from_an_offset() {
        assert_eq!(offset(1e9 - 5.0, 1e9 + 5.0), Some(1e9));
        assert_eq!(offset(1.0 - 1e-6, 1.0 + 1e-6), Some(1.0));
        assert_eq!(offset(-2e7 - 1.0, -2e7 + 1.0), Some(-2e7));
        assert_eq!(offset(0.0, 10.0), None);
        assert_eq!(offset(100.0, 200.0), None);
        assert_eq!(with_offset("x", Some(1e9)), "x − 1e9");
        assert_eq!(with_offset("x", Some(-2e7)), "x + 2e7");
        assert_eq!(with_offset("x", Some(1.0)), "x − 1");
        assert_eq!(with_offset("x", None), "x");
        // An overflowing span gets a finite range.
        assert_eq!(padded(-1e308, 1e308), (0.0, 1.0));
    }

    #[test]
    fn constant_features_get_a_readable_range() {
        assert_eq!(padded(5.0, 5.0), (4.0, 6.0));
        assert_eq!(padded(0.0, 0.0), (-1.0, 1.0));
        let (a, b) = padded(1000.0, 1000.0);
        assert_eq!((a, b), (900.0, 1100.0));
        let (a, b) = padded(0.0, 10.0);
        assert_eq!((a, b), (-0.5, 10.5));
        assert_eq!(padded(f64::NAN, 1.0), (0.0, 1.0));
    }

    #[test]
    fn extent_skips_non_finite_values() {
        assert_eq!(extent([3.0, f64::NAN, -1.0, 2.0]), Some((-1.0, 3.0)));
        assert_eq!(extent([f64::INFINITY]), None);
    }
}
