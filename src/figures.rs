//! How numbers are written for people: in reports, pages and on the command line.

/// A number with at most `dp` decimals and no trailing zeros (`85`, `82.5`).
pub fn num(x: f64, dp: usize) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let s = format!("{x:.dp$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// A ratio as a percentage (`0.953` → `95.3%`).
pub fn pct(x: f64) -> String {
    if x.is_finite() {
        format!("{}%", num(x * 100.0, 1))
    } else {
        "—".into()
    }
}
