//! Small formatting helpers for the compact text the model reads: sizes, percentages, durations.

/// `s` as a human must read it before approving: control characters (but newlines) and
/// invisible or direction-changing Unicode characters are written as escapes (`\r`, `\u{202e}`),
/// so nothing can hide or reorder what will run.
pub fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\\' => out.push('\\'),
            c if c.is_control() || is_invisible(c) => {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Unicode format, separator and other invisible characters that can hide or reorder text.
fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x2028..=0x202E | 0x205F..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

/// Bytes to MiB, rounded (the unit of `list_vms` memory columns).
pub fn mib(bytes: u64) -> u64 {
    (bytes + (1 << 19)) >> 20
}

/// Human size with one decimal: `512M`, `3.5G`, `1.2T`.
pub fn size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("T", 1 << 40),
        ("G", 1 << 30),
        ("M", 1 << 20),
        ("K", 1 << 10),
    ];
    for (unit, scale) in UNITS {
        if bytes >= scale {
            let v = bytes as f64 / scale as f64;
            return if v >= 100.0 || (v - v.round()).abs() < 0.05 {
                format!("{}{unit}", v.round() as u64)
            } else {
                format!("{v:.1}{unit}")
            };
        }
    }
    format!("{bytes}B")
}

/// A fraction (0.0..=1.0 per core as PVE reports `cpu`) as a whole percentage.
pub fn pct(fraction: f64) -> f64 {
    (fraction * 1000.0).round() / 10.0
}

/// `used/total` as a percentage, one decimal.
pub fn ratio_pct(used: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| ((used as f64 / total as f64) * 1000.0).round() / 10.0)
}

/// Uptime as `3d4h`, `5h12m`, `42m`, `17s`.
pub fn duration(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60);
    if d > 0 {
        format!("{d}d{h}h")
    } else if h > 0 {
        format!("{h}h{m}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{secs}s")
    }
}

/// Case-insensitive glob with `*` and `?`; a pattern without wildcards matches as a substring.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    if !p.iter().any(|c| *c == '*' || *c == '?') {
        let needle: String = p.iter().collect();
        let hay: String = t.iter().collect();
        return hay.contains(&needle);
    }
    // Iterative matcher with backtracking on the last `*`.
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// `s` cut to at most `max` bytes on a character boundary, with `…` when something was cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let cut = (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}…", &s[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_escapes_what_could_hide_text() {
        let shown = visible("ls\r rm -rf /\u{202e}fdp\u{200b}x\u{1b}[2K\tz\nnext");
        assert_eq!(
            shown,
            "ls\\r rm -rf /\\u{202e}fdp\\u{200b}x\\u{001b}[2K\\tz\nnext"
        );
        assert_eq!(visible("qm list ä"), "qm list ä");
    }

    #[test]
    fn sizes() {
        for (bytes, want) in [
            (0, "0B"),
            (512 << 20, "512M"),
            (3 * (1 << 30) + (1 << 29), "3.5G"),
            (4 << 30, "4G"),
            (1 << 40, "1T"),
        ] {
            assert_eq!(size(bytes), want, "{bytes}");
        }
        assert_eq!(mib(1 << 30), 1024);
    }

    #[test]
    fn durations() {
        assert_eq!(duration(17), "17s");
        assert_eq!(duration(42 * 60), "42m");
        assert_eq!(duration(5 * 3600 + 12 * 60), "5h12m");
        assert_eq!(duration(3 * 86_400 + 4 * 3600), "3d4h");
    }

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("web*", "web-01", true),
            ("web*", "db-01", false),
            ("*-0?", "web-01", true),
            ("WEB", "prod-web-1", true),
            ("db", "web", false),
            ("*", "", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
        ] {
            assert_eq!(glob_match(p, t), want, "{p} ~ {t}");
        }
    }
}
